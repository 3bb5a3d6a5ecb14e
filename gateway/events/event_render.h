// Execution events as consumers see them. Owns the event types, the global event id format
// and the versioned JSON payload (docs/EVENTS.md). Pure functions; any thread.
//
// Invariant: event_payload() is a pure function of the stored event and the instance id, so
// Kafka and the polling API serve byte-identical payloads under the same id, before and
// after restarts.
#pragma once

#include <optional>
#include <string>

#include "adapters/adapter.h"
#include "gateway/core/order_machine.h"
#include "store/store.h"

namespace brokergw::events {

inline constexpr const char* kPayloadSchema = "brokergw.event.v1";

// "<instance_id>-<seq>", seq zero-padded to 20 digits so ids sort like their sequence.
std::string event_id(const std::string& instance_id, std::uint64_t seq);

// The event a broker report becomes. `before` is the order before the report (nullopt when
// the report names no known order); `after` the order after it (nullopt when refused);
// `refusal` is set when the core refused the report.
store::StoredEvent event_for_report(const adapters::BrokerReport& report,
                                    const std::optional<core::Order>& before,
                                    const std::optional<core::Order>& after,
                                    const std::optional<core::Refusal>& refusal,
                                    const std::string& anomaly, core::TimestampUs now_us);

// An event about an order caused by the gateway itself (timeouts, operator alerts).
store::StoredEvent event_for_order(const std::string& type, const core::Order& order,
                                   const std::string& reason, core::TimestampUs now_us);

// The full JSON payload (one line, no trailing newline).
std::string event_payload(const store::StoredEvent& event, const std::string& instance_id);

}  // namespace brokergw::events
