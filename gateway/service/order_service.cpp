#include "gateway/service/order_service.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "gateway/service/context.h"
#include "gateway/service/lane.h"
#include "gateway/service/recovery.h"
#include "gateway/service/report_intake.h"
#include "gateway/service/scheduler.h"

namespace brokergw::service {

namespace {
constexpr std::size_t kAttentionListed = 100;
}

core::TimestampUs system_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view to_string(SubmitStatus s) {
  switch (s) {
    case SubmitStatus::kCreated:
      return "created";
    case SubmitStatus::kReplayed:
      return "replayed";
    case SubmitStatus::kConflict:
      return "conflict";
    case SubmitStatus::kBrokerBusy:
      return "broker_busy";
    case SubmitStatus::kUnknownOrder:
      return "unknown_order";
    case SubmitStatus::kRefused:
      return "refused";
    case SubmitStatus::kStoreError:
      return "store_error";
  }
  return "?";
}

OrderService::OrderService(store::Store& store, std::vector<BrokerLaneConfig> brokers, Clock clock,
                           events::EventNotifier& notifier)
    : notifier_(notifier), shared_(std::make_unique<Shared>(store, std::move(clock), notifier)) {
  for (auto& b : brokers) {
    std::string name = b.adapter->broker();
    shared_->lanes.emplace(name, std::make_unique<Lane>(std::move(b.adapter), b.policy, *shared_));
  }
  scheduler_ = std::make_unique<Scheduler>(*shared_);
  reports_ = std::make_unique<ReportIntake>(*shared_);
  sessions_ = std::make_unique<SessionAdmin>(*shared_);
  shared_->wake_scheduler = [this] { scheduler_->wake(); };
}

OrderService::~OrderService() { stop(); }

const ServiceMetrics& OrderService::metrics() const { return shared_->metrics; }

void OrderService::start() {
  if (started_) return;
  started_ = true;
  recover(*shared_);
  scheduler_->start();
  for (auto& [name, lane] : shared_->lanes) {
    lane->start();
    lane->adapter().start(*this);
  }
}

void OrderService::stop() {
  if (!started_) return;
  started_ = false;
  scheduler_->stop();
  for (auto& [name, lane] : shared_->lanes) lane->stop();
  for (auto& [name, lane] : shared_->lanes) lane->adapter().stop();
}

bool OrderService::broker_known(std::string_view name) const {
  return shared_->lane_for(name) != nullptr;
}

adapters::ReportOutcome OrderService::on_report(adapters::BrokerReport report) {
  return reports_->on_report(std::move(report));
}

void OrderService::on_session_state(std::string_view broker, bool logged_on,
                                    std::string_view detail) {
  spdlog::info("broker {}: session {} ({})", broker, logged_on ? "up" : "down", detail);
  Lane* lane = shared_->lane_for(broker);
  if (!lane) return;
  if (logged_on) sessions_->on_logon(broker);
  // Fills the broker sent while we were away arrive by the session's own resend; asking for
  // every open order also recovers what no resend can (a gap fill, a lost session store). The
  // walk runs on the lane's thread, never on the adapter's.
  if (logged_on) lane->request_walk(false, lane->rules().policy.query_on_reconnect);
  lane->wake();
}

void OrderService::on_sequence_refused(std::string_view broker,
                                       const adapters::SequenceRefusal& refusal) {
  sessions_->on_refused(broker, refusal);
}

store::Result<store::VersionedOrder> OrderService::get(const std::string& client_order_id) {
  std::optional<store::VersionedOrder> found;
  auto st = shared_->store.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.get_order(client_order_id);
    if (!r) return tl::unexpected(r.error());
    found = std::move(*r);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return std::move(*found);
}

store::Result<std::vector<store::VersionedOrder>> OrderService::list(
    const store::OrderFilter& filter, const std::string& after, std::size_t limit) {
  std::vector<store::VersionedOrder> out;
  auto st = shared_->store.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.list_orders(filter, after, limit);
    if (!r) return tl::unexpected(r.error());
    out = std::move(*r);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return out;
}

store::Result<std::vector<store::StoredEvent>> OrderService::events_after(std::uint64_t after_seq,
                                                                          std::size_t limit) {
  std::vector<store::StoredEvent> out;
  auto st = shared_->store.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.events_after(after_seq, limit);
    if (!r) return tl::unexpected(r.error());
    out = std::move(*r);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return out;
}

store::Result<std::uint64_t> OrderService::last_event_seq() {
  std::uint64_t last = 0;
  auto st = shared_->store.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.last_event_seq();
    if (!r) return tl::unexpected(r.error());
    last = *r;
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return last;
}

std::vector<BrokerStatus> OrderService::broker_status() const {
  std::vector<BrokerStatus> out;
  const core::TimestampUs now = shared_->clock();
  for (const auto& [broker, lane] : shared_->lanes) {
    const std::string& name = broker;
    BrokerStatus b;
    b.name = name;
    b.logged_on = lane->adapter().logged_on();
    b.queued = lane->queued();
    b.capacity = lane->capacity();
    b.lane_full = lane->full_count();
    b.parked = lane->parked();
    b.status_query_refused = lane->status_query_refused();
    b.resolution_in_flight = lane->budget_in_flight(now);
    const WaitTracker::BrokerView v = shared_->tracker.view(name, kAttentionListed);
    b.unknown_orders = v.unknown;
    b.oldest_unknown_us = v.oldest_unknown_us;
    b.attention_total = v.attention_total;
    b.fills_missing_orders = v.fills_missing;
    b.unverified_orders = v.unverified;
    for (const auto& [id, since] : v.attention) b.attention.push_back({id, since});
    (void)shared_->store.read([&](store::ReadTxn& txn) -> store::Status {
      auto c = txn.count_open_orders(name);
      if (c) b.open_orders = *c;
      return {};
    });
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace brokergw::service
