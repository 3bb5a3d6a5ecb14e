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

// What one event says. The type comes from a core decision (core/resolution.h); the order is
// the one the event is about (after the decision, or as it stands when the decision left it
// unchanged); the report is set when a broker report caused the event.
struct EventInput {
  core::EventType type = core::EventType::kNone;
  const core::Order* order = nullptr;              // null only for kUnknownReport
  const adapters::BrokerReport* report = nullptr;  // null for the gateway's own events
  core::Reason reason = core::Reason::kNone;       // journaled as "reason_code"
  core::AnomalyReason anomaly = core::AnomalyReason::kNone;
  std::string detail;  // journaled as "reason" (human text)
};

// Renders the stored event. Body fields: the order's (state, quantities, ids), the report's
// (exec_id, client_cancel_id, possible_duplicate, last_qty/last_px, reject reasons, status
// answer), "reported_as" (the report's kind) for anomalies, ignored and unknown reports,
// "anomaly" and "reason_code" when set, "reason" (the detail) when not empty.
store::StoredEvent render_event(const EventInput& input, core::TimestampUs now_us);

// The full JSON payload (one line, no trailing newline).
std::string event_payload(const store::StoredEvent& event, const std::string& instance_id);

}  // namespace brokergw::events
