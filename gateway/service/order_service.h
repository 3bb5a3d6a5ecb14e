// The order service: the glue between the internal API, the order core, the store and the
// broker adapters. It owns one dispatch lane (bounded queue + thread) per broker, so a slow
// or dead broker never blocks intake or another broker.
//
// Threads: submit/cancel/get/list run on API threads and block only on the store's group
// commit. Each lane's dispatcher thread sends to its adapter. on_report/on_session_state run
// on adapter I/O threads. All order updates are read-modify-write inside one store
// transaction, guarded by the order's version (compare-and-set), so no update is lost.
//
// Invariant: no byte of an order reaches an adapter before the order (and the durable mark
// of that send attempt) is committed to disk.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "adapters/adapter.h"
#include "gateway/core/backoff.h"
#include "gateway/core/order_machine.h"
#include "gateway/events/notifier.h"
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

struct BrokerStatus {
  std::string name;
  bool logged_on = false;
  std::size_t queued = 0;
  std::size_t capacity = 0;
  std::size_t unknown_orders = 0;           // orders in unknown_at_broker
  core::TimestampUs oldest_unknown_us = 0;  // since when the oldest one is unknown (0: none)
};

// How the gateway treats one broker's silence (docs/RECOVERY.md).
enum class Resolution { kStatusQuery, kResend };

struct BrokerPolicy {
  std::size_t queue_capacity = 10000;
  std::uint64_t ack_timeout_ms = 30000;
  Resolution resolution = Resolution::kStatusQuery;
  core::BackoffPolicy backoff;
  std::uint32_t max_messages_per_s = 0;  // 0: unlimited
  std::uint64_t stale_order_age_ms = 0;  // 0: never stale
  bool query_on_reconnect = true;
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
  std::atomic<std::uint64_t> broker_anomalies{0};
  std::atomic<std::uint64_t> events_appended{0};
  std::atomic<std::uint64_t> timeouts{0};  // orders that went unknown_at_broker
  std::atomic<std::uint64_t> status_queries_sent{0};
  std::atomic<std::uint64_t> resends_sent{0};
  std::atomic<std::uint64_t> unknown_resolved{0};
  std::atomic<std::uint64_t> operator_alerts{0};  // retries exhausted, still unknown
};

class OrderService final : public adapters::AdapterListener {
 public:
  struct BrokerLaneConfig {
    std::unique_ptr<adapters::BrokerAdapter> adapter;
    BrokerPolicy policy;
  };

  // `notifier` learns of every committed event (publisher wake-up, long polls).
  OrderService(store::Store& store, std::vector<BrokerLaneConfig> brokers, Clock clock,
               events::EventNotifier& notifier);
  ~OrderService() override;

  // Re-queues what the store says is unfinished, then starts adapters, dispatchers and the
  // retry scheduler.
  void start();
  // Stops dispatchers and adapters. Queued work stays in the store and resumes on start.
  void stop();

  bool broker_known(std::string_view name) const;
  SubmitOutcome submit(const core::NewOrderRequest& request);
  SubmitOutcome cancel(const std::string& client_order_id, const std::string& client_cancel_id);
  store::Result<store::VersionedOrder> get(const std::string& client_order_id);
  store::Result<std::vector<store::VersionedOrder>> list(const store::OrderFilter& filter,
                                                         const std::string& after,
                                                         std::size_t limit);
  std::vector<BrokerStatus> broker_status() const;
  // Events after `after_seq` from the store (the polling API), at most limit.
  store::Result<std::vector<store::StoredEvent>> events_after(std::uint64_t after_seq,
                                                              std::size_t limit);
  store::Result<std::uint64_t> last_event_seq();
  events::EventNotifier& notifier() { return notifier_; }
  const ServiceMetrics& metrics() const { return metrics_; }

  // adapters::AdapterListener
  void on_report(adapters::BrokerReport report) override;
  void on_session_state(std::string_view broker, bool logged_on, std::string_view detail) override;

 private:
  class Lane;
  Lane* lane_for(std::string_view broker) const;
  void recover();
  // The retry scheduler: turns silence into unknown_at_broker and drives resolution with
  // capped exponential backoff, from the durable schedule (so it survives restarts).
  void run_scheduler();
  void process_due(const store::RetryEntry& entry);
  void query_open_orders(std::string_view broker);
  void track_unknown(const core::Order& order, core::TimestampUs now);
  std::uint64_t random_draw();

  store::Store& store_;
  Clock clock_;
  events::EventNotifier& notifier_;
  std::map<std::string, std::unique_ptr<Lane>, std::less<>> lanes_;
  ServiceMetrics metrics_;
  bool started_ = false;

  std::thread scheduler_;
  std::mutex scheduler_mu_;
  std::condition_variable scheduler_cv_;
  bool scheduler_stopping_ = false;

  // Orders in unknown_at_broker: id -> (broker, since). For metrics; rebuilt at start.
  mutable std::mutex unknown_mu_;
  std::map<std::string, std::pair<std::string, core::TimestampUs>> unknown_since_;
  std::mutex rng_mu_;
  std::uint64_t rng_state_;
};

}  // namespace brokergw::service
