#include "gateway/service/order_service.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "gateway/events/event_render.h"

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

namespace {
bool awaits_broker(core::OrderState s) {
  return s == core::OrderState::kPendingNew || s == core::OrderState::kPendingCancel ||
         s == core::OrderState::kPendingReplace || s == core::OrderState::kUnknownAtBroker;
}
}  // namespace

class OrderService::Lane {
 public:
  enum class Kind {
    kNewOrder,     // first send of an accepted order
    kCancel,       // (re)send the pending cancel
    kStatusQuery,  // ask the broker for the order's status
    kResend,       // resend the same ClOrdID with PossResend=Y
  };
  struct Item {
    Kind kind;
    std::string client_order_id;
  };

  Lane(std::unique_ptr<adapters::BrokerAdapter> adapter, BrokerPolicy policy, OrderService& service)
      : adapter_(std::move(adapter)), policy_(policy), service_(service) {}

  ~Lane() { stop(); }

  adapters::BrokerAdapter& adapter() { return *adapter_; }
  const BrokerPolicy& policy() const { return policy_; }
  std::size_t capacity() const { return policy_.queue_capacity; }
  std::size_t queued() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

  // A slot is reserved before the order is stored, so a full queue refuses the order before
  // anything is written ("broker busy"), and a stored order always has a slot.
  bool try_reserve() {
    std::lock_guard lock(mu_);
    if (items_.size() + reserved_ >= policy_.queue_capacity) return false;
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
  // Recovery, cancels and retries are not refused: they concern orders already accepted.
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

  // The broker's rate limit: sends are spaced at least 1/rate apart.
  void pace() {
    if (policy_.max_messages_per_s == 0) return;
    const auto gap = std::chrono::nanoseconds(1'000'000'000 / policy_.max_messages_per_s);
    const auto now = std::chrono::steady_clock::now();
    if (next_send_ > now) std::this_thread::sleep_until(next_send_);
    next_send_ = std::max(now, next_send_) + gap;
  }

  struct Prepared {
    Item item;
    std::optional<core::Order> to_send;  // set when this item must go to the broker now
    std::uint64_t event_seq = 0;         // set when the item produced an event
    store::Status status;
  };

  // The store work one item needs before it may be sent (run inside the group commit).
  store::Status prepare(WriteTxn& txn, Prepared& p, core::TimestampUs now) {
    auto current = txn.get_order(p.item.client_order_id);
    if (!current) return tl::unexpected(current.error());
    const core::Order& order = current->order;
    auto commit = [&](const core::OrderEvent& ev) -> tl::expected<core::Order, store::StoreError> {
      auto applied = core::apply(order, ev, now);
      if (!applied) {
        return tl::unexpected(
            store::StoreError{store::StoreErrc::kAborted, applied.error().detail});
      }
      auto version = txn.update_order(applied->order, current->version);
      if (!version) return tl::unexpected(version.error());
      return applied->order;
    };
    auto journal = [&](const core::Order& o, const char* type, const std::string& reason) {
      auto seq = txn.append_event(events::event_for_order(type, o, reason, now));
      if (!seq) return store::Status(tl::unexpected(seq.error()));
      p.event_seq = *seq;
      return store::Status{};
    };
    switch (p.item.kind) {
      case Kind::kCancel:
        if (order.cancel_id.empty() || order.send_attempts == 0) return {};
        if (order.state == core::OrderState::kPendingCancel ||
            (order.state == core::OrderState::kUnknownAtBroker &&
             order.state_before_pending == core::OrderState::kPendingCancel)) {
          p.to_send = order;
        }
        return {};
      case Kind::kStatusQuery:
        if (!core::is_terminal(order.state)) p.to_send = order;
        return {};
      case Kind::kResend: {
        if (order.state != core::OrderState::kUnknownAtBroker) return {};
        if (order.state_before_pending == core::OrderState::kPendingCancel) {
          // The unknown part is the cancel: resend the cancel, never the order.
          p.item.kind = Kind::kCancel;
          p.to_send = order;
          return {};
        }
        auto marked = commit(core::EvSendAttempt{});
        if (!marked) return tl::unexpected(marked.error());
        p.to_send = *marked;
        return {};
      }
      case Kind::kNewOrder:
        break;
    }
    if (order.send_attempts != 0) return {};
    if (order.state == core::OrderState::kPendingCancel) {
      // Canceled before it ever left the gateway: the broker never hears of it.
      auto canceled = commit(core::EvCanceled{"canceled before it was sent"});
      if (!canceled) return tl::unexpected(canceled.error());
      return journal(*canceled, "order.canceled", "canceled before it was sent");
    }
    if (order.state != core::OrderState::kPendingNew) return {};
    const auto age_ms = static_cast<std::uint64_t>((now - order.created_us) / 1000);
    if (policy_.stale_order_age_ms != 0 && age_ms > policy_.stale_order_age_ms) {
      // Too old to send blindly (the session was down a long time): ask first.
      auto unknown = commit(core::EvTimeout{});
      if (!unknown) return tl::unexpected(unknown.error());
      service_.track_unknown(*unknown, now);
      if (auto s = txn.schedule_retry({order.request.client_order_id, now, 1, "status_query"});
          !s) {
        return s;
      }
      return journal(*unknown, "order.unknown",
                     "stale: not sent within " + std::to_string(policy_.stale_order_age_ms) +
                         " ms; resolving by status query before anything is sent");
    }
    auto marked = commit(core::EvSendAttempt{});
    if (!marked) return tl::unexpected(marked.error());
    // The answer is due within ack_timeout_ms; the scheduler turns silence into unknown.
    if (auto s = txn.schedule_retry(
            {order.request.client_order_id,
             now + static_cast<core::TimestampUs>(policy_.ack_timeout_ms) * 1000, 0, "timeout"});
        !s) {
      return s;
    }
    p.to_send = *marked;
    return {};
  }

  // Marks every send attempt durably (one group commit for the batch), then sends. Returns
  // the items that could not be sent because the session went down (to retry in order).
  std::deque<Item> dispatch(std::deque<Item>& batch) {
    std::vector<std::shared_ptr<Prepared>> prepared;
    std::vector<std::future<store::Status>> done;
    const core::TimestampUs now = service_.clock_();
    for (auto& item : batch) {
      auto p = std::make_shared<Prepared>(Prepared{std::move(item), std::nullopt, 0, {}});
      prepared.push_back(p);
      auto promise = std::make_shared<std::promise<store::Status>>();
      done.push_back(promise->get_future());
      service_.store_.submit([this, p, now](WriteTxn& txn) { return prepare(txn, *p, now); },
                             [promise](store::Status s) { promise->set_value(std::move(s)); });
    }
    std::uint64_t last_event = 0;
    for (std::size_t i = 0; i < done.size(); ++i) {
      prepared[i]->status = done[i].get();
      if (prepared[i]->status) last_event = std::max(last_event, prepared[i]->event_seq);
    }
    if (last_event) service_.notifier_.advance(last_event);

    std::deque<Item> unsent;
    for (auto& p : prepared) {
      if (!p->status) {
        spdlog::error("broker {}: cannot prepare {}: {} {}", adapter_->broker(),
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
      pace();
      const core::Order& order = *p->to_send;
      adapters::SendResult sent;
      switch (p->item.kind) {
        case Kind::kNewOrder:
          sent = adapter_->send_new_order(order, false);
          break;
        case Kind::kResend:
          sent = adapter_->send_new_order(order, true);
          if (sent) service_.metrics_.resends_sent++;
          break;
        case Kind::kCancel:
          sent = adapter_->send_cancel(order, order.cancel_id);
          break;
        case Kind::kStatusQuery:
          sent = adapter_->send_status_request(order);
          if (sent) service_.metrics_.status_queries_sent++;
          break;
      }
      if (sent) {
        service_.metrics_.messages_sent++;
        continue;
      }
      service_.metrics_.send_failures++;
      spdlog::warn("broker {}: {} not sent: {}", adapter_->broker(), p->item.client_order_id,
                   sent.error().detail);
      // A new order or resend whose attempt is already marked is left as it is: it may have
      // reached the broker, so the scheduler resolves it as unknown rather than sending it
      // blindly again. Cancels and status queries are safe to repeat.
      if (p->item.kind == Kind::kCancel || p->item.kind == Kind::kStatusQuery) {
        unsent.push_back(p->item);
      }
    }
    return unsent;
  }

  std::unique_ptr<adapters::BrokerAdapter> adapter_;
  const BrokerPolicy policy_;
  OrderService& service_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  std::size_t reserved_ = 0;
  bool stopping_ = false;
  std::thread thread_;
  std::chrono::steady_clock::time_point next_send_{};
};

// ---- OrderService ------------------------------------------------------------------------

OrderService::OrderService(store::Store& store, std::vector<BrokerLaneConfig> brokers, Clock clock,
                           events::EventNotifier& notifier)
    : store_(store),
      clock_(std::move(clock)),
      notifier_(notifier),
      rng_state_(static_cast<std::uint64_t>(system_now_us()) | 1) {
  for (auto& b : brokers) {
    std::string name = b.adapter->broker();
    lanes_.emplace(name, std::make_unique<Lane>(std::move(b.adapter), b.policy, *this));
  }
}

OrderService::~OrderService() { stop(); }

void OrderService::start() {
  if (started_) return;
  started_ = true;
  recover();
  {
    std::lock_guard lock(scheduler_mu_);
    scheduler_stopping_ = false;
  }
  scheduler_ = std::thread([this] { run_scheduler(); });
  for (auto& [name, lane] : lanes_) {
    lane->start();
    lane->adapter().start(*this);
  }
}

void OrderService::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(scheduler_mu_);
    scheduler_stopping_ = true;
  }
  scheduler_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& [name, lane] : lanes_) lane->stop();
  for (auto& [name, lane] : lanes_) lane->adapter().stop();
}

std::uint64_t OrderService::random_draw() {
  // xorshift64*: jitter needs spread, not cryptographic quality.
  std::lock_guard lock(rng_mu_);
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return rng_state_ * 0x2545F4914F6CDD1DULL;
}

void OrderService::track_unknown(const core::Order& order, core::TimestampUs now) {
  std::lock_guard lock(unknown_mu_);
  if (order.state == core::OrderState::kUnknownAtBroker) {
    unknown_since_.try_emplace(order.request.client_order_id, order.request.broker, now);
  } else if (unknown_since_.erase(order.request.client_order_id) > 0) {
    metrics_.unknown_resolved++;
  }
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
    if (o.state == core::OrderState::kUnknownAtBroker) {
      // Its retry schedule is in the store and simply continues.
      std::lock_guard lock(unknown_mu_);
      unknown_since_.try_emplace(o.request.client_order_id, o.request.broker, o.updated_us);
      ++unknown;
    } else if (o.send_attempts == 0 && (o.state == core::OrderState::kPendingNew ||
                                        o.state == core::OrderState::kPendingCancel)) {
      lane->push({Lane::Kind::kNewOrder, o.request.client_order_id});
      ++requeued;
    } else if (o.state == core::OrderState::kPendingCancel) {
      lane->push({Lane::Kind::kCancel, o.request.client_order_id});
      ++requeued;
    } else if (o.state == core::OrderState::kPendingNew) {
      // Sent (or about to be) before the restart with no answer: the broker may have it.
      std::uint64_t notify_seq = 0;
      auto s = store_.write_and_wait([&](WriteTxn& txn) -> store::Status {
        auto cur = txn.get_order(o.request.client_order_id);
        if (!cur) return tl::unexpected(cur.error());
        auto applied = core::apply(cur->order, core::EvTimeout{}, now);
        if (!applied) return {};
        auto v = txn.update_order(applied->order, cur->version);
        if (!v) return tl::unexpected(v.error());
        auto seq = txn.append_event(events::event_for_order(
            "order.unknown", applied->order, "in flight when the gateway restarted", now));
        if (!seq) return tl::unexpected(seq.error());
        notify_seq = *seq;
        // Resolve it as soon as the session is up, then with backoff.
        return txn.schedule_retry(
            {o.request.client_order_id, now, 1,
             lane->policy().resolution == Resolution::kResend ? "resend" : "status_query"});
      });
      if (!s) {
        spdlog::critical("recovery: cannot update {}: {}", o.request.client_order_id,
                         s.error().detail);
        std::abort();
      }
      notifier_.advance(notify_seq);
      {
        std::lock_guard lock(unknown_mu_);
        unknown_since_.try_emplace(o.request.client_order_id, o.request.broker, now);
      }
      spdlog::warn("recovery: order {} may have reached broker {} before the restart; now {}",
                   o.request.client_order_id, o.request.broker,
                   core::to_string(core::OrderState::kUnknownAtBroker));
      ++unknown;
    }
  }
  spdlog::info("recovery: {} unfinished orders, {} re-queued, {} unknown at broker",
               unfinished.size(), requeued, unknown);
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
        // The cancel's answer is due within the broker's ack timeout, like an order's.
        if (Lane* lane = lane_for(applied->order.request.broker)) {
          const auto due =
              now + static_cast<core::TimestampUs>(lane->policy().ack_timeout_ms) * 1000;
          if (auto s = txn.schedule_retry({client_order_id, due, 0, "timeout"}); !s) return s;
        }
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

store::Result<std::vector<store::StoredEvent>> OrderService::events_after(std::uint64_t after_seq,
                                                                          std::size_t limit) {
  std::vector<store::StoredEvent> out;
  auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
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
  auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
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
  for (const auto& [name, lane] : lanes_) {
    BrokerStatus b{name, lane->adapter().logged_on(), lane->queued(), lane->capacity(), 0, 0};
    std::lock_guard lock(unknown_mu_);
    for (const auto& [id, since] : unknown_since_) {
      if (since.first != name) continue;
      b.unknown_orders++;
      if (b.oldest_unknown_us == 0 || since.second < b.oldest_unknown_us) {
        b.oldest_unknown_us = since.second;
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

void OrderService::on_session_state(std::string_view broker, bool logged_on,
                                    std::string_view detail) {
  spdlog::info("broker {}: session {} ({})", broker, logged_on ? "up" : "down", detail);
  Lane* lane = lane_for(broker);
  if (!lane) return;
  if (logged_on && lane->policy().query_on_reconnect) query_open_orders(broker);
  lane->wake();
}

void OrderService::query_open_orders(std::string_view broker) {
  // Fills the broker sent while we were away arrive by the session's own resend; asking
  // for every open order also recovers what no resend can (a lost session store, a reset).
  std::vector<std::string> open;
  auto st = store_.read([&](store::ReadTxn& txn) {
    return txn.for_each_order([&](const VersionedOrder& vo) {
      const core::Order& o = vo.order;
      if (o.request.broker == broker && !core::is_terminal(o.state) && o.send_attempts > 0) {
        open.push_back(o.request.client_order_id);
      }
      return true;
    });
  });
  if (!st) {
    spdlog::error("broker {}: cannot list open orders: {}", broker, st.error().detail);
    return;
  }
  Lane* lane = lane_for(broker);
  for (auto& id : open) lane->push({Lane::Kind::kStatusQuery, std::move(id)});
  if (!open.empty()) {
    spdlog::info("broker {}: asking for the status of {} open orders after logon", broker,
                 open.size());
  }
}

namespace {
enum class ReportFate { kApplied, kDuplicate, kUnknownOrder, kRefused };
struct ReportOutcome {
  ReportFate fate = ReportFate::kApplied;
  std::string client_order_id;
  core::OrderState state = core::OrderState::kPendingNew;
  std::string note;
  std::uint64_t event_seq = 0;
  bool resolved = false;        // an unknown order got its answer
  bool wake_scheduler = false;  // a retry was scheduled for now
  std::optional<core::Order> order;
};
}  // namespace

void OrderService::on_report(BrokerReport report) {
  const core::TimestampUs now = clock_();
  auto result = store_.write_and_wait<ReportOutcome>([&](WriteTxn& txn,
                                                         std::optional<ReportOutcome>& res)
                                                         -> store::Status {
    ReportOutcome o;
    if (!report.exec_id.empty()) {
      auto seen = txn.exec_seen(report.broker, report.exec_id);
      if (!seen) return tl::unexpected(seen.error());
      if (*seen) {
        o.fate = ReportFate::kDuplicate;
        res = std::move(o);
        return {};
      }
      if (auto s = txn.mark_exec_seen(report.broker, report.exec_id, now); !s) return s;
    }
    // Every report that is not a duplicate becomes exactly one event, in this transaction.
    auto journal = [&](const std::optional<core::Order>& before,
                       const std::optional<core::Order>& after,
                       const std::optional<core::Refusal>& refusal,
                       const std::string& anomaly) -> store::Status {
      auto seq =
          txn.append_event(events::event_for_report(report, before, after, refusal, anomaly, now));
      if (!seq) return tl::unexpected(seq.error());
      o.event_seq = *seq;
      res = o;
      return {};
    };
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
      return journal(std::nullopt, std::nullopt, std::nullopt, "");
    }
    o.client_order_id = current->order.request.client_order_id;
    if (current->order.request.broker != report.broker) {
      o.fate = ReportFate::kUnknownOrder;
      o.note = "order belongs to broker " + current->order.request.broker;
      return journal(std::nullopt, std::nullopt, std::nullopt, "");
    }
    const core::Order& order = current->order;
    // The broker says it does not have the order: it never arrived. Not a reject.
    if (report.not_at_broker) {
      if (order.state != core::OrderState::kUnknownAtBroker) {
        o.fate = ReportFate::kApplied;
        o.state = order.state;
        o.note = "status query answered 'unknown order' for a " +
                 std::string(core::to_string(order.state)) + " order; ignored";
        return journal(order, order, std::nullopt, "not_at_broker_ignored");
      }
      if (order.send_attempts == 0 ||
          order.state_before_pending == core::OrderState::kPendingCancel) {
        // Never sent (stale) or the cancel was lost with the order: nothing to resend.
        auto rejected =
            core::apply(order,
                        core::EvReject{order.send_attempts == 0
                                           ? "stale: never sent, and the broker does not have it"
                                           : "the broker does not know the order"},
                        now);
        if (!rejected) {
          return tl::unexpected(store::StoreError{StoreErrc::kAborted, rejected.error().detail});
        }
        auto v = txn.update_order(rejected->order, current->version);
        if (!v) return tl::unexpected(v.error());
        if (auto s = txn.cancel_retry(order.request.client_order_id); !s) return s;
        o.fate = ReportFate::kApplied;
        o.state = rejected->order.state;
        o.order = rejected->order;
        return journal(order, rejected->order, std::nullopt, "");
      }
      // It was sent but never arrived: send the same ClOrdID again, now.
      auto retry = txn.get_retry(order.request.client_order_id);
      if (!retry) return tl::unexpected(retry.error());
      const std::uint32_t attempt = *retry ? (*retry)->attempt : 1;
      if (auto s = txn.schedule_retry({order.request.client_order_id, now, attempt, "resend"});
          !s) {
        return s;
      }
      o.fate = ReportFate::kApplied;
      o.state = order.state;
      o.note = "the broker does not have it: resending the same ClOrdID";
      o.wake_scheduler = true;
      return journal(order, order, std::nullopt, "");
    }
    // A duplicate-ClOrdID reject of a resend means the broker has the order: ask, don't
    // reject.
    if (report.duplicate_order && (order.state == core::OrderState::kUnknownAtBroker ||
                                   order.state == core::OrderState::kPendingNew)) {
      if (auto s = txn.schedule_retry({order.request.client_order_id, now, 1, "status_query"});
          !s) {
        return s;
      }
      o.fate = ReportFate::kApplied;
      o.state = order.state;
      o.note = "the broker already has this ClOrdID: asking for its status";
      o.wake_scheduler = true;
      return journal(order, order, std::nullopt, "duplicate_clordid");
    }
    auto applied = core::apply(current->order, report.event, now);
    if (!applied) {
      o.fate = ReportFate::kRefused;
      o.state = current->order.state;
      o.note = std::string(core::to_string(applied.error().reason)) + ": " + applied.error().detail;
      return journal(current->order, std::nullopt, applied.error(), "");
    }
    auto version = txn.update_order(applied->order, current->version);
    if (!version) return tl::unexpected(version.error());
    const std::string& boid = applied->order.broker_order_id;
    if (!boid.empty() && boid != current->order.broker_order_id) {
      if (auto s = txn.put_broker_order_id(report.broker, boid, o.client_order_id); !s) {
        return s;
      }
    }
    // An answer ends the wait: drop the order's timeout or retry.
    if (!awaits_broker(applied->order.state) ||
        (order.state == core::OrderState::kUnknownAtBroker &&
         applied->order.state != core::OrderState::kUnknownAtBroker)) {
      if (auto s = txn.cancel_retry(o.client_order_id); !s) return s;
      o.resolved = order.state == core::OrderState::kUnknownAtBroker;
    }
    o.fate = ReportFate::kApplied;
    o.state = applied->order.state;
    o.note = applied->anomaly;
    o.order = applied->order;
    return journal(current->order, applied->order, std::nullopt, applied->anomaly);
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
  if (result->event_seq) {
    metrics_.events_appended++;
    notifier_.advance(result->event_seq);
  }
  if (result->order) track_unknown(*result->order, now);
  if (result->wake_scheduler) scheduler_cv_.notify_all();
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

// ---- Retry scheduler ---------------------------------------------------------------------

void OrderService::run_scheduler() {
  while (true) {
    std::optional<core::TimestampUs> next_due;
    std::vector<store::RetryEntry> due;
    const core::TimestampUs now = clock_();
    auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
      auto d = txn.due_retries(now, 64);
      if (!d) return tl::unexpected(d.error());
      due = std::move(*d);
      auto n = txn.next_retry_due();
      if (!n) return tl::unexpected(n.error());
      next_due = *n;
      return {};
    });
    if (!st) spdlog::error("scheduler: cannot read the retry schedule: {}", st.error().detail);
    for (const auto& entry : due) process_due(entry);
    if (!due.empty()) continue;  // more may be due
    // Sleep until the next entry is due, re-reading at least every 200 ms (entries are added
    // by other threads).
    auto wait = std::chrono::milliseconds(200);
    if (next_due) {
      const auto until = std::chrono::microseconds(std::max<core::TimestampUs>(0, *next_due - now));
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(until) +
                                std::chrono::milliseconds(1));
    }
    std::unique_lock lock(scheduler_mu_);
    if (scheduler_cv_.wait_for(lock, wait, [this] { return scheduler_stopping_; })) return;
  }
}

void OrderService::process_due(const store::RetryEntry& entry) {
  const core::TimestampUs now = clock_();
  std::optional<Lane::Kind> action;
  std::optional<core::Order> changed;
  std::uint64_t event_seq = 0;
  bool alert = false;
  const std::uint64_t draw = random_draw();
  auto st = store_.write_and_wait([&](WriteTxn& txn) -> store::Status {
    // Re-read inside the transaction: the entry may have been replaced or answered since.
    auto current_entry = txn.get_retry(entry.client_order_id);
    if (!current_entry) return tl::unexpected(current_entry.error());
    if (!*current_entry || (*current_entry)->due_us > now) return {};
    const store::RetryEntry e = **current_entry;
    auto current = txn.get_order(e.client_order_id);
    if (!current) {
      if (current.error().code != StoreErrc::kNotFound) return tl::unexpected(current.error());
      return txn.cancel_retry(e.client_order_id);
    }
    const core::Order& order = current->order;
    Lane* lane = lane_for(order.request.broker);
    if (!lane || !awaits_broker(order.state)) return txn.cancel_retry(e.client_order_id);
    const BrokerPolicy& policy = lane->policy();
    const char* resolve_action =
        policy.resolution == Resolution::kResend ? "resend" : "status_query";
    auto journal = [&](const core::Order& o, const char* type, const std::string& reason) {
      auto seq = txn.append_event(events::event_for_order(type, o, reason, now));
      if (!seq) return store::Status(tl::unexpected(seq.error()));
      event_seq = *seq;
      return store::Status{};
    };

    if (e.action == "timeout") {
      if (order.state == core::OrderState::kUnknownAtBroker) {
        return txn.schedule_retry({e.client_order_id, now, 1, resolve_action});
      }
      auto applied = core::apply(order, core::EvTimeout{}, now);
      if (!applied) return txn.cancel_retry(e.client_order_id);
      auto v = txn.update_order(applied->order, current->version);
      if (!v) return tl::unexpected(v.error());
      changed = applied->order;
      // First resolution attempt right away; later ones back off.
      if (auto s = txn.schedule_retry({e.client_order_id, now, 1, resolve_action}); !s) return s;
      return journal(applied->order, "order.unknown",
                     "no answer within " + std::to_string(policy.ack_timeout_ms) + " ms");
    }
    if (order.state != core::OrderState::kUnknownAtBroker) {
      return txn.cancel_retry(e.client_order_id);
    }
    if (e.attempt > policy.backoff.max_attempts) {
      // Out of attempts: a human must look. The order stays unknown; nothing is guessed.
      alert = true;
      if (auto s = txn.cancel_retry(e.client_order_id); !s) return s;
      return journal(order, "order.attention_required",
                     "still unknown after " + std::to_string(policy.backoff.max_attempts) +
                         " resolution attempts; an operator must check with the broker");
    }
    action = e.action == "resend" ? Lane::Kind::kResend : Lane::Kind::kStatusQuery;
    const std::uint64_t delay_ms = core::retry_delay_ms(policy.backoff, e.attempt, draw);
    return txn.schedule_retry({e.client_order_id,
                               now + static_cast<core::TimestampUs>(delay_ms) * 1000, e.attempt + 1,
                               resolve_action});
  });
  if (!st) {
    spdlog::error("scheduler: retry of {} failed: {} {}", entry.client_order_id,
                  store::to_string(st.error().code), st.error().detail);
    return;
  }
  if (event_seq) {
    metrics_.events_appended++;
    notifier_.advance(event_seq);
  }
  if (changed) {
    metrics_.timeouts++;
    track_unknown(*changed, now);
    spdlog::warn("order {}: no answer from broker {}: unknown_at_broker", entry.client_order_id,
                 changed->request.broker);
  }
  if (alert) {
    metrics_.operator_alerts++;
    spdlog::error(
        "order {}: still unknown after every resolution attempt; operator attention "
        "required",
        entry.client_order_id);
  }
  if (action) {
    auto order = get(entry.client_order_id);
    if (order) {
      if (Lane* lane = lane_for(order->order.request.broker)) {
        spdlog::info("order {}: resolution attempt {} by {}", entry.client_order_id, entry.attempt,
                     *action == Lane::Kind::kResend ? "resend (PossResend=Y)" : "status query");
        lane->push({*action, entry.client_order_id});
      }
    }
  }
}

}  // namespace brokergw::service
