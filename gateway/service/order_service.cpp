#include "gateway/service/order_service.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

namespace brokergw::service {

using adapters::BrokerReport;
using store::StoreErrc;
using store::VersionedOrder;
using store::WriteTxn;

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

// ---- Lane: one broker's bounded queue and dispatcher thread ------------------------------

class OrderService::Lane {
 public:
  enum class Kind { kNewOrder, kCancel };
  struct Item {
    Kind kind;
    std::string client_order_id;
  };

  Lane(std::unique_ptr<adapters::BrokerAdapter> adapter, std::size_t capacity,
       OrderService& service)
      : adapter_(std::move(adapter)), capacity_(capacity), service_(service) {}

  ~Lane() { stop(); }

  adapters::BrokerAdapter& adapter() { return *adapter_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t queued() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

  // A slot is reserved before the order is stored, so a full queue refuses the order before
  // anything is written ("broker busy"), and a stored order always has a slot.
  bool try_reserve() {
    std::lock_guard lock(mu_);
    if (items_.size() + reserved_ >= capacity_) return false;
    ++reserved_;
    return true;
  }
  void release_reservation() {
    std::lock_guard lock(mu_);
    --reserved_;
  }
  void push_reserved(Item item) {
    {
      std::lock_guard lock(mu_);
      --reserved_;
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  // Recovery and cancels are not refused: they concern orders already accepted.
  void push(Item item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }
  void wake() { cv_.notify_all(); }

  void start() {
    thread_ = std::thread([this] { run(); });
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  static constexpr std::size_t kBatch = 64;

  void run() {
    const std::string& broker = adapter_->broker();
    while (true) {
      std::deque<Item> batch;
      {
        std::unique_lock lock(mu_);
        // Wait for work and a logged-on session; re-check periodically because logon is
        // signalled from another thread without this lock.
        cv_.wait_for(lock, std::chrono::milliseconds(200),
                     [&] { return stopping_ || (!items_.empty() && adapter_->logged_on()); });
        if (stopping_) return;
        if (items_.empty() || !adapter_->logged_on()) continue;
        while (!items_.empty() && batch.size() < kBatch) {
          batch.push_back(std::move(items_.front()));
          items_.pop_front();
        }
      }
      std::deque<Item> unsent = dispatch(batch);
      if (!unsent.empty()) {
        std::lock_guard lock(mu_);
        items_.insert(items_.begin(), std::make_move_iterator(unsent.begin()),
                      std::make_move_iterator(unsent.end()));
        spdlog::warn("broker {}: {} messages wait for the session", broker, unsent.size());
      }
    }
  }

  struct Prepared {
    Item item;
    std::optional<core::Order> to_send;  // set when this item must go to the broker now
    store::Status status;
  };

  // Marks every send attempt durably (one group commit for the batch), then sends. Returns
  // the items that could not be sent because the session went down (to retry in order).
  std::deque<Item> dispatch(std::deque<Item>& batch) {
    std::vector<std::shared_ptr<Prepared>> prepared;
    std::vector<std::future<store::Status>> done;
    for (auto& item : batch) {
      auto p = std::make_shared<Prepared>(Prepared{std::move(item), std::nullopt, {}});
      prepared.push_back(p);
      auto promise = std::make_shared<std::promise<store::Status>>();
      done.push_back(promise->get_future());
      const core::TimestampUs now = service_.clock_();
      service_.store_.submit(
          [p, now](WriteTxn& txn) -> store::Status {
            auto current = txn.get_order(p->item.client_order_id);
            if (!current) return tl::unexpected(current.error());
            const core::Order& order = current->order;
            if (p->item.kind == Kind::kCancel) {
              if (order.state == core::OrderState::kPendingCancel && order.send_attempts > 0) {
                p->to_send = order;
              }
              return {};
            }
            std::optional<core::OrderEvent> event;
            if (order.state == core::OrderState::kPendingNew && order.send_attempts == 0) {
              event = core::EvSendAttempt{};
            } else if (order.state == core::OrderState::kPendingCancel &&
                       order.send_attempts == 0) {
              // Canceled before it ever left the gateway: the broker never hears of it.
              event = core::EvCanceled{"canceled before it was sent"};
            }
            if (!event) return {};
            auto applied = core::apply(order, *event, now);
            if (!applied) return {};
            auto version = txn.update_order(applied->order, current->version);
            if (!version) return tl::unexpected(version.error());
            if (std::holds_alternative<core::EvSendAttempt>(*event)) p->to_send = applied->order;
            return {};
          },
          [promise](store::Status s) { promise->set_value(std::move(s)); });
    }
    for (std::size_t i = 0; i < done.size(); ++i) prepared[i]->status = done[i].get();

    std::deque<Item> unsent;
    for (auto& p : prepared) {
      if (!p->status) {
        spdlog::error("broker {}: cannot mark {} for sending: {} {}", adapter_->broker(),
                      p->item.client_order_id, store::to_string(p->status.error().code),
                      p->status.error().detail);
        if (p->status.error().retriable()) unsent.push_back(p->item);
        continue;
      }
      if (!p->to_send) continue;
      if (!unsent.empty()) {  // keep per-lane order: nothing overtakes an unsent message
        unsent.push_back(p->item);
        continue;
      }
      adapters::SendResult sent = p->item.kind == Kind::kNewOrder
                                      ? adapter_->send_new_order(*p->to_send)
                                      : adapter_->send_cancel(*p->to_send, p->to_send->cancel_id);
      if (sent) {
        service_.metrics_.messages_sent++;
        continue;
      }
      service_.metrics_.send_failures++;
      spdlog::warn("broker {}: {} not sent: {}", adapter_->broker(), p->item.client_order_id,
                   sent.error().detail);
      // A new order whose attempt is already marked is left as it is: it may have reached the
      // broker, so it is resolved as unknown rather than blindly sent again.
      if (p->item.kind == Kind::kCancel) unsent.push_back(p->item);
    }
    return unsent;
  }

  std::unique_ptr<adapters::BrokerAdapter> adapter_;
  const std::size_t capacity_;
  OrderService& service_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  std::size_t reserved_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

// ---- OrderService ------------------------------------------------------------------------

OrderService::OrderService(store::Store& store, std::vector<BrokerLaneConfig> brokers, Clock clock)
    : store_(store), clock_(std::move(clock)) {
  for (auto& b : brokers) {
    std::string name = b.adapter->broker();
    lanes_.emplace(name, std::make_unique<Lane>(std::move(b.adapter), b.queue_capacity, *this));
  }
}

OrderService::~OrderService() { stop(); }

void OrderService::start() {
  if (started_) return;
  started_ = true;
  recover();
  for (auto& [name, lane] : lanes_) {
    lane->start();
    lane->adapter().start(*this);
  }
}

void OrderService::stop() {
  if (!started_) return;
  started_ = false;
  for (auto& [name, lane] : lanes_) lane->stop();
  for (auto& [name, lane] : lanes_) lane->adapter().stop();
}

OrderService::Lane* OrderService::lane_for(std::string_view broker) const {
  auto it = lanes_.find(broker);
  return it == lanes_.end() ? nullptr : it->second.get();
}

bool OrderService::broker_known(std::string_view name) const { return lane_for(name) != nullptr; }

void OrderService::recover() {
  std::vector<VersionedOrder> unfinished;
  auto st = store_.read([&](store::ReadTxn& txn) {
    return txn.for_each_order([&](const VersionedOrder& vo) {
      if (!core::is_terminal(vo.order.state)) unfinished.push_back(vo);
      return true;
    });
  });
  if (!st) {
    spdlog::critical("recovery: cannot scan orders: {}", st.error().detail);
    std::abort();
  }
  std::size_t requeued = 0, unknown = 0;
  const core::TimestampUs now = clock_();
  for (const auto& vo : unfinished) {
    const core::Order& o = vo.order;
    Lane* lane = lane_for(o.request.broker);
    if (!lane) {
      spdlog::error("recovery: order {} is for broker {} which is no longer configured",
                    o.request.client_order_id, o.request.broker);
      continue;
    }
    if (o.send_attempts == 0 &&
        (o.state == core::OrderState::kPendingNew || o.state == core::OrderState::kPendingCancel)) {
      lane->push({Lane::Kind::kNewOrder, o.request.client_order_id});
      ++requeued;
    } else if (o.state == core::OrderState::kPendingCancel) {
      lane->push({Lane::Kind::kCancel, o.request.client_order_id});
      ++requeued;
    } else if (o.state == core::OrderState::kPendingNew) {
      // Sent (or about to be) before the restart with no answer: the broker may have it.
      auto s = store_.write_and_wait([&](WriteTxn& txn) -> store::Status {
        auto cur = txn.get_order(o.request.client_order_id);
        if (!cur) return tl::unexpected(cur.error());
        auto applied = core::apply(cur->order, core::EvTimeout{}, now);
        if (!applied) return {};
        auto v = txn.update_order(applied->order, cur->version);
        if (!v) return tl::unexpected(v.error());
        return {};
      });
      if (!s) {
        spdlog::critical("recovery: cannot update {}: {}", o.request.client_order_id,
                         s.error().detail);
        std::abort();
      }
      spdlog::warn("recovery: order {} may have reached broker {} before the restart; now {}",
                   o.request.client_order_id, o.request.broker,
                   core::to_string(core::OrderState::kUnknownAtBroker));
      ++unknown;
    }
  }
  spdlog::info("recovery: {} unfinished orders, {} re-queued, {} marked unknown", unfinished.size(),
               requeued, unknown);
}

SubmitOutcome OrderService::submit(const core::NewOrderRequest& request) {
  SubmitOutcome out;
  Lane* lane = lane_for(request.broker);
  if (!lane) {
    out.status = SubmitStatus::kUnknownOrder;
    out.detail = "unknown broker";
    return out;
  }
  if (!lane->try_reserve()) {
    // Idempotent replays must still answer when the queue is full.
    auto existing = get(request.client_order_id);
    if (existing) {
      out.status =
          existing->order.request == request ? SubmitStatus::kReplayed : SubmitStatus::kConflict;
      out.order = std::move(*existing);
      return out;
    }
    metrics_.broker_busy++;
    out.status = SubmitStatus::kBrokerBusy;
    out.detail = "broker " + request.broker + " has " + std::to_string(lane->capacity()) +
                 " orders waiting; retry later";
    return out;
  }
  const core::TimestampUs now = clock_();
  auto result = store_.write_and_wait<SubmitOutcome>(
      [&](WriteTxn& txn, std::optional<SubmitOutcome>& res) -> store::Status {
        SubmitOutcome o;
        auto existing = txn.get_order(request.client_order_id);
        if (existing) {
          o.status = existing->order.request == request ? SubmitStatus::kReplayed
                                                        : SubmitStatus::kConflict;
          o.order = std::move(*existing);
          res = std::move(o);
          return {};
        }
        if (existing.error().code != StoreErrc::kNotFound) return tl::unexpected(existing.error());
        if (auto as_cancel = txn.get_cancel(request.client_order_id); as_cancel) {
          o.status = SubmitStatus::kConflict;
          o.detail = "client_order_id is already used as a client_cancel_id";
          res = std::move(o);
          return {};
        }
        core::Order order = core::make_order(request, now);
        if (auto s = txn.insert_order(order); !s) return s;
        o.status = SubmitStatus::kCreated;
        o.order = VersionedOrder{std::move(order), 1};
        res = std::move(o);
        return {};
      });
  if (!result) {
    lane->release_reservation();
    out.status = SubmitStatus::kStoreError;
    out.store_error = result.error();
    spdlog::error("submit {}: store error {}: {}", request.client_order_id,
                  store::to_string(result.error().code), result.error().detail);
    return out;
  }
  out = std::move(*result);
  if (out.status == SubmitStatus::kCreated) {
    metrics_.orders_created++;
    lane->push_reserved({Lane::Kind::kNewOrder, request.client_order_id});
  } else {
    lane->release_reservation();
    if (out.status == SubmitStatus::kReplayed) metrics_.orders_replayed++;
    if (out.status == SubmitStatus::kConflict) metrics_.order_conflicts++;
  }
  return out;
}

SubmitOutcome OrderService::cancel(const std::string& client_order_id,
                                   const std::string& client_cancel_id) {
  const core::TimestampUs now = clock_();
  auto result = store_.write_and_wait<SubmitOutcome>(
      [&](WriteTxn& txn, std::optional<SubmitOutcome>& res) -> store::Status {
        SubmitOutcome o;
        if (auto prior = txn.get_cancel(client_cancel_id); prior) {
          auto order = txn.get_order(prior->client_order_id);
          if (!order) return tl::unexpected(order.error());
          o.status = prior->client_order_id == client_order_id ? SubmitStatus::kReplayed
                                                               : SubmitStatus::kConflict;
          if (o.status == SubmitStatus::kConflict) {
            o.detail = "client_cancel_id already used for order " + prior->client_order_id;
          }
          o.order = std::move(*order);
          res = std::move(o);
          return {};
        } else if (prior.error().code != StoreErrc::kNotFound) {
          return tl::unexpected(prior.error());
        }
        if (auto clash = txn.get_order(client_cancel_id); clash) {
          o.status = SubmitStatus::kConflict;
          o.detail = "client_cancel_id is already used as a client_order_id";
          res = std::move(o);
          return {};
        }
        auto current = txn.get_order(client_order_id);
        if (!current) {
          if (current.error().code != StoreErrc::kNotFound) return tl::unexpected(current.error());
          o.status = SubmitStatus::kUnknownOrder;
          res = std::move(o);
          return {};
        }
        auto applied = core::apply(current->order, core::EvCancelRequested{client_cancel_id}, now);
        if (!applied) {
          o.status = SubmitStatus::kRefused;
          o.refusal = applied.error();
          o.order = std::move(*current);
          res = std::move(o);
          return {};
        }
        auto version = txn.update_order(applied->order, current->version);
        if (!version) return tl::unexpected(version.error());
        if (auto s = txn.insert_cancel({client_cancel_id, client_order_id, now}); !s) return s;
        o.status = SubmitStatus::kCreated;
        o.order = VersionedOrder{std::move(applied->order), *version};
        res = std::move(o);
        return {};
      });
  SubmitOutcome out;
  if (!result) {
    out.status = SubmitStatus::kStoreError;
    out.store_error = result.error();
    return out;
  }
  out = std::move(*result);
  if (out.status == SubmitStatus::kCreated) {
    metrics_.cancels_accepted++;
    if (Lane* lane = lane_for(out.order->order.request.broker)) {
      lane->push({Lane::Kind::kCancel, client_order_id});
    }
  }
  return out;
}

store::Result<VersionedOrder> OrderService::get(const std::string& client_order_id) {
  std::optional<VersionedOrder> found;
  auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.get_order(client_order_id);
    if (!r) return tl::unexpected(r.error());
    found = std::move(*r);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return std::move(*found);
}

store::Result<std::vector<VersionedOrder>> OrderService::list(const store::OrderFilter& filter,
                                                              const std::string& after,
                                                              std::size_t limit) {
  std::vector<VersionedOrder> out;
  auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.list_orders(filter, after, limit);
    if (!r) return tl::unexpected(r.error());
    out = std::move(*r);
    return {};
  });
  if (!st) return tl::unexpected(st.error());
  return out;
}

std::vector<BrokerStatus> OrderService::broker_status() const {
  std::vector<BrokerStatus> out;
  for (const auto& [name, lane] : lanes_) {
    out.push_back({name, lane->adapter().logged_on(), lane->queued(), lane->capacity()});
  }
  return out;
}

void OrderService::on_session_state(std::string_view broker, bool logged_on,
                                    std::string_view detail) {
  spdlog::info("broker {}: session {} ({})", broker, logged_on ? "up" : "down", detail);
  if (Lane* lane = lane_for(broker)) lane->wake();
}

namespace {
enum class ReportFate { kApplied, kDuplicate, kUnknownOrder, kRefused };
struct ReportOutcome {
  ReportFate fate = ReportFate::kApplied;
  std::string client_order_id;
  core::OrderState state = core::OrderState::kPendingNew;
  std::string note;
};
}  // namespace

void OrderService::on_report(BrokerReport report) {
  const core::TimestampUs now = clock_();
  auto result = store_.write_and_wait<ReportOutcome>(
      [&](WriteTxn& txn, std::optional<ReportOutcome>& res) -> store::Status {
        ReportOutcome o;
        auto mark_seen = [&]() -> store::Status {
          if (report.exec_id.empty()) return {};
          return txn.mark_exec_seen(report.broker, report.exec_id);
        };
        if (!report.exec_id.empty()) {
          auto seen = txn.exec_seen(report.broker, report.exec_id);
          if (!seen) return tl::unexpected(seen.error());
          if (*seen) {
            o.fate = ReportFate::kDuplicate;
            res = std::move(o);
            return {};
          }
        }
        // Find the order: by our ClOrdID, else through the cancel request id.
        auto current = txn.get_order(report.client_order_id);
        if (!current && current.error().code == StoreErrc::kNotFound) {
          for (const std::string& maybe_cancel : {report.cancel_id, report.client_order_id}) {
            if (maybe_cancel.empty()) continue;
            if (auto c = txn.get_cancel(maybe_cancel); c) {
              current = txn.get_order(c->client_order_id);
              break;
            }
          }
        }
        if (!current) {
          if (current.error().code != StoreErrc::kNotFound) return tl::unexpected(current.error());
          o.fate = ReportFate::kUnknownOrder;
          o.client_order_id = report.client_order_id;
          res = std::move(o);
          return mark_seen();
        }
        o.client_order_id = current->order.request.client_order_id;
        if (current->order.request.broker != report.broker) {
          o.fate = ReportFate::kUnknownOrder;
          o.note = "order belongs to broker " + current->order.request.broker;
          res = std::move(o);
          return mark_seen();
        }
        auto applied = core::apply(current->order, report.event, now);
        if (!applied) {
          o.fate = ReportFate::kRefused;
          o.state = current->order.state;
          o.note =
              std::string(core::to_string(applied.error().reason)) + ": " + applied.error().detail;
          res = std::move(o);
          return mark_seen();
        }
        auto version = txn.update_order(applied->order, current->version);
        if (!version) return tl::unexpected(version.error());
        const std::string& boid = applied->order.broker_order_id;
        if (!boid.empty() && boid != current->order.broker_order_id) {
          if (auto s = txn.put_broker_order_id(report.broker, boid, o.client_order_id); !s) {
            return s;
          }
        }
        o.fate = ReportFate::kApplied;
        o.state = applied->order.state;
        o.note = applied->anomaly;
        res = std::move(o);
        return mark_seen();
      });
  if (!result) {
    // The transport advances its sequence number when we return; crashing here instead
    // makes the broker resend the report after restart, so nothing is lost.
    spdlog::critical(
        "broker {}: cannot store report for {} ({}): {} {}; stopping so the "
        "broker resends it after restart",
        report.broker, report.client_order_id, report.summary,
        store::to_string(result.error().code), result.error().detail);
    std::abort();
  }
  const ReportOutcome& o = *result;
  switch (o.fate) {
    case ReportFate::kApplied:
      metrics_.reports_applied++;
      spdlog::info("order {}: {} -> {}", o.client_order_id, report.summary,
                   core::to_string(o.state));
      if (!o.note.empty()) {
        metrics_.broker_anomalies++;
        spdlog::error("order {}: broker anomaly {} ({})", o.client_order_id, o.note,
                      report.summary);
      }
      break;
    case ReportFate::kDuplicate:
      metrics_.reports_duplicate++;
      spdlog::info("broker {}: duplicate report {} for {} dropped", report.broker, report.exec_id,
                   report.client_order_id);
      break;
    case ReportFate::kUnknownOrder:
      metrics_.reports_unknown_order++;
      spdlog::error("broker {}: report for unknown order {} ({}) {}", report.broker,
                    report.client_order_id, report.summary, o.note);
      break;
    case ReportFate::kRefused:
      metrics_.broker_anomalies++;
      spdlog::error("order {}: report refused, order unchanged in {}: {} ({})", o.client_order_id,
                    core::to_string(o.state), o.note, report.summary);
      break;
  }
}

}  // namespace brokergw::service
