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
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "adapters/adapter.h"
#include "gateway/core/order_machine.h"
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
};

class OrderService final : public adapters::AdapterListener {
 public:
  struct BrokerLaneConfig {
    std::unique_ptr<adapters::BrokerAdapter> adapter;
    std::size_t queue_capacity = 10000;
  };

  OrderService(store::Store& store, std::vector<BrokerLaneConfig> brokers, Clock clock);
  ~OrderService() override;

  // Re-queues what the store says is unfinished, then starts adapters and dispatchers.
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
  const ServiceMetrics& metrics() const { return metrics_; }

  // adapters::AdapterListener
  void on_report(adapters::BrokerReport report) override;
  void on_session_state(std::string_view broker, bool logged_on, std::string_view detail) override;

 private:
  class Lane;
  Lane* lane_for(std::string_view broker) const;
  void recover();

  store::Store& store_;
  Clock clock_;
  std::map<std::string, std::unique_ptr<Lane>, std::less<>> lanes_;
  ServiceMetrics metrics_;
  bool started_ = false;
};

}  // namespace brokergw::service
