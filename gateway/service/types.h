// The service's shared vocabulary: outcomes of intake, per-broker policy, status for health,
// and the counters behind /metrics. Plain data; the counters are atomics (any thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "gateway/core/order_machine.h"
#include "gateway/core/resolution.h"
#include "store/store.h"

namespace brokergw::service {

using Clock = std::function<core::TimestampUs()>;
core::TimestampUs system_now_us();

enum class SubmitStatus {
  kCreated,       // stored as pending_new now
  kReplayed,      // same id, same request: the stored order, nothing sent again
  kConflict,      // same id, different request: nothing changed
  kBrokerBusy,    // the broker's queue is full: nothing stored
  kUnknownOrder,  // (cancel) no such order
  kRefused,       // (cancel) the core refused (refusal set)
  kStoreError,    // the store failed (store_error set); nothing is acknowledged
};
std::string_view to_string(SubmitStatus s);

struct SubmitOutcome {
  SubmitStatus status = SubmitStatus::kStoreError;
  std::optional<store::VersionedOrder> order;
  std::optional<core::Refusal> refusal;
  std::optional<store::StoreError> store_error;
  std::string detail;
};

struct UnknownOrder {
  std::string client_order_id;
  core::TimestampUs since_us = 0;  // when it went unknown_at_broker
};

struct BrokerStatus {
  std::string name;
  bool logged_on = false;
  std::size_t queued = 0;
  std::size_t capacity = 0;
  std::uint64_t lane_full = 0;              // times an item met the lane's hard bound
  std::size_t parked = 0;                   // items parked after a fatal store error
  std::size_t open_orders = 0;              // non-terminal orders of this broker
  std::size_t unknown_orders = 0;           // orders in unknown_at_broker
  core::TimestampUs oldest_unknown_us = 0;  // since when the oldest one is unknown (0: none)
  std::vector<UnknownOrder> attention;      // out of attempts: an operator must look (bounded)
  std::size_t attention_total = 0;          // all of them, when the list above is cut
  std::size_t fills_missing_orders = 0;     // orders whose broker CumQty is ahead of ours
  std::size_t unverified_orders = 0;        // orders the broker would not confirm
  bool status_query_refused = false;        // the broker has refused status requests
  std::size_t resolution_in_flight = 0;     // status queries and resends awaiting an answer
};

// Per broker: the resolution rules (core/resolution.h) and the lane's bounds.
struct BrokerPolicy {
  std::size_t queue_capacity = 10000;  // one hard bound for every kind of lane item
  core::BrokerRules rules;
  std::uint32_t max_messages_per_s = 0;  // 0: unlimited
  // The resolution budget: status queries and resends per second, and awaiting an answer.
  std::uint32_t resolution_max_per_s = 50;
  std::uint32_t resolution_max_in_flight = 500;
};

struct ServiceMetrics {
  std::atomic<std::uint64_t> orders_created{0};
  std::atomic<std::uint64_t> orders_replayed{0};
  std::atomic<std::uint64_t> order_conflicts{0};
  std::atomic<std::uint64_t> broker_busy{0};
  std::atomic<std::uint64_t> cancels_accepted{0};
  std::atomic<std::uint64_t> messages_sent{0};
  std::atomic<std::uint64_t> send_failures{0};
  std::atomic<std::uint64_t> reports_applied{0};
  std::atomic<std::uint64_t> reports_duplicate{0};
  std::atomic<std::uint64_t> reports_unknown_order{0};
  std::atomic<std::uint64_t> reports_ignored{0};  // late or redundant: journaled, unchanged
  std::atomic<std::uint64_t> broker_anomalies{0};
  std::atomic<std::uint64_t> exec_id_conflicts{0};  // known ExecIDs with other content
  std::atomic<std::uint64_t> fills_missing{0};      // times an order's broker CumQty moved ahead
  std::atomic<std::uint64_t> fill_adjustments{0};   // busts and corrections applied
  std::atomic<std::uint64_t> orders_unverified{0};  // orders the broker would not confirm
  std::atomic<std::uint64_t> events_appended{0};
  std::atomic<std::uint64_t> timeouts{0};  // orders that went unknown_at_broker on silence
  std::atomic<std::uint64_t> status_queries_sent{0};
  std::atomic<std::uint64_t> resends_sent{0};
  std::atomic<std::uint64_t> unknown_resolved{0};
  std::atomic<std::uint64_t> operator_alerts{0};   // out of attempts, store failures
  std::atomic<std::uint64_t> reader_behind{0};     // deadlines deferred: reader not caught up
  std::atomic<std::uint64_t> budget_deferrals{0};  // resolution attempts that waited for budget
  std::atomic<std::uint64_t> lane_full{0};         // items that met a lane's hard bound
  std::atomic<std::uint64_t> store_retries{0};     // retriable store errors retried
  std::atomic<std::uint64_t> store_failures{0};    // fatal store errors surfaced
};

}  // namespace brokergw::service
