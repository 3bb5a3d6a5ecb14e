// The order service: the facade that the API and main() see. It owns the parts, each in its
// own file, one per thread and responsibility:
//   intake.cpp         API threads: new orders and cancels, answered once durable
//   lane.h             one dispatcher thread per broker: bounded queue, sends, recovery walk
//   report_intake.h    the adapter's I/O thread: every broker report triaged and journaled
//   scheduler.h        its own thread: deadlines, silence -> unknown, resolution, alerts
//   recovery.h         start(): what a restart does with every open order
//   carry_out.h        the one "apply -> compare-and-set -> schedule -> journal" step
//   session_admin.h    FIX sequence refusals and operator sequence changes (admin API)
// The decisions themselves are pure and live in gateway/core/resolution.h.
//
// Threads: the public functions are safe from any thread; on_report/on_session_state run on
// adapter threads.
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
#include "gateway/service/session_admin.h"
#include "gateway/service/types.h"
#include "store/store.h"

namespace brokergw::service {

class Lane;
class Scheduler;
class ReportIntake;
struct Shared;

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

  // Recovers what the store says is unfinished, then starts lanes, adapters and the scheduler.
  void start();
  // Stops the scheduler, the lanes and the adapters. Queued work stays in the store and
  // resumes on start.
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
  const ServiceMetrics& metrics() const;
  // Sequence numbers per broker: show, set, reset (API threads); refusals (adapter threads).
  SessionAdmin& sessions() { return *sessions_; }
  const SessionAdmin& sessions() const { return *sessions_; }

  // adapters::AdapterListener
  adapters::ReportOutcome on_report(adapters::BrokerReport report) override;
  void on_session_state(std::string_view broker, bool logged_on, std::string_view detail) override;
  void on_sequence_refused(std::string_view broker,
                           const adapters::SequenceRefusal& refusal) override;

 private:
  events::EventNotifier& notifier_;
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<ReportIntake> reports_;
  std::unique_ptr<SessionAdmin> sessions_;
  bool started_ = false;
};

}  // namespace brokergw::service
