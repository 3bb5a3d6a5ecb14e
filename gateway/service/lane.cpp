#include "gateway/service/lane.h"

#include <algorithm>
#include <future>

#include <spdlog/spdlog.h>

#include "gateway/service/carry_out.h"

namespace brokergw::service {
namespace {
constexpr std::size_t kBatch = 64;
constexpr std::size_t kWalkBatch = 64;
constexpr auto kIdleWait = std::chrono::milliseconds(200);
constexpr auto kRetryFirst = std::chrono::milliseconds(10);
constexpr auto kRetryMax = std::chrono::milliseconds(1000);
constexpr auto kParkRetry = std::chrono::seconds(5);
}  // namespace

Shared::Shared(store::Store& s, Clock c, events::EventNotifier& n)
    : store(s), clock(std::move(c)), notifier(n) {}
Shared::~Shared() = default;

Lane::Lane(std::unique_ptr<adapters::BrokerAdapter> adapter, BrokerPolicy policy, Shared& shared)
    : adapter_(std::move(adapter)),
      policy_(policy),
      shared_(shared),
      budget_(policy.resolution_max_per_s, policy.resolution_max_in_flight,
              static_cast<core::TimestampUs>(policy.rules.policy.ack_timeout_ms) * 1000) {}

Lane::~Lane() { stop(); }

core::BrokerRules Lane::rules() const {
  core::BrokerRules r = policy_.rules;
  std::lock_guard lock(mu_);
  if (status_refused_) r.caps.status_query = false;
  return r;
}

void Lane::status_refused() {
  std::lock_guard lock(mu_);
  if (!status_refused_ && policy_.rules.caps.status_query) {
    spdlog::warn("broker {}: refuses status requests; unknown orders are resolved by resend",
                 adapter_->broker());
  }
  status_refused_ = true;
}

bool Lane::status_query_refused() const {
  std::lock_guard lock(mu_);
  return status_refused_;
}

std::size_t Lane::queued() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

std::uint64_t Lane::full_count() const {
  std::lock_guard lock(mu_);
  return full_;
}

std::size_t Lane::parked() const {
  std::lock_guard lock(mu_);
  return parked_.size();
}

bool Lane::try_reserve() {
  std::lock_guard lock(mu_);
  if (items_.size() + reserved_ >= policy_.queue_capacity) {
    if (full_++ % 1000 == 0) {
      spdlog::warn("broker {}: lane full ({} items); new orders are refused as broker busy",
                   adapter_->broker(), policy_.queue_capacity);
    }
    return false;
  }
  ++reserved_;
  return true;
}

void Lane::release_reservation() {
  std::lock_guard lock(mu_);
  --reserved_;
}

void Lane::push_reserved(Item item) {
  {
    std::lock_guard lock(mu_);
    --reserved_;
    items_.push_back(std::move(item));
  }
  cv_.notify_one();
}

bool Lane::try_push(Item item) {
  {
    std::lock_guard lock(mu_);
    if (items_.size() + reserved_ >= policy_.queue_capacity) {
      if (full_++ % 1000 == 0) {
        spdlog::warn("broker {}: lane full ({} items); resolution and recovery wait for room",
                     adapter_->broker(), policy_.queue_capacity);
      }
      shared_.metrics.lane_full++;
      return false;
    }
    items_.push_back(std::move(item));
  }
  cv_.notify_one();
  return true;
}

bool Lane::has_room() const {
  std::lock_guard lock(mu_);
  return items_.size() + reserved_ < policy_.queue_capacity;
}

bool Lane::try_reserve_slot() {
  std::lock_guard lock(mu_);
  if (items_.size() + reserved_ >= policy_.queue_capacity) {
    ++full_;
    shared_.metrics.lane_full++;
    return false;
  }
  ++reserved_;
  return true;
}

bool Lane::try_push_walk(Item item) {
  {
    std::lock_guard lock(mu_);
    // The walk leaves half the lane to intake and resolution, so new orders are not
    // refused as "broker busy" while it runs.
    const std::size_t share = std::max<std::size_t>(1, policy_.queue_capacity / 2);
    if (items_.size() + reserved_ >= share) return false;
    items_.push_back(std::move(item));
  }
  cv_.notify_one();
  return true;
}

void Lane::request_walk(bool requeue, bool query) {
  {
    std::lock_guard lock(mu_);
    walk_requeue_ |= requeue;
    walk_query_ |= query;
    walk_cursor_.clear();
  }
  cv_.notify_all();
}

bool Lane::take_budget(core::TimestampUs now) {
  std::lock_guard lock(budget_mu_);
  return budget_.take(now);
}
bool Lane::budget_available(core::TimestampUs now) {
  std::lock_guard lock(budget_mu_);
  return budget_.available(now);
}
core::TimestampUs Lane::budget_next_us(core::TimestampUs now) {
  std::lock_guard lock(budget_mu_);
  return budget_.next_available_us(now);
}
void Lane::budget_answered() {
  std::lock_guard lock(budget_mu_);
  budget_.answered();
}
std::size_t Lane::budget_in_flight(core::TimestampUs now) {
  std::lock_guard lock(budget_mu_);
  return budget_.in_flight(now);
}

void Lane::start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void Lane::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Lane::run() {
  const std::string& broker = adapter_->broker();
  while (true) {
    std::deque<Item> batch;
    bool walking = false;
    {
      std::unique_lock lock(mu_);
      walking = walk_requeue_ || walk_query_;
      const auto wait = retry_backoff_.count() ? retry_backoff_ : kIdleWait;
      // Logon is signalled from another thread without this lock: re-check periodically.
      cv_.wait_for(lock, walking ? std::chrono::milliseconds(20) : wait, [&] {
        return stopping_ || (!items_.empty() && adapter_->logged_on() && !retry_backoff_.count());
      });
      if (stopping_) return;
      const auto now = std::chrono::steady_clock::now();
      while (!parked_.empty() && parked_.front().retry_at <= now) {
        items_.push_back(std::move(parked_.front().item));
        parked_.pop_front();
      }
      walking = walk_requeue_ || walk_query_;
      retry_backoff_ = std::chrono::milliseconds(0);
      if (adapter_->logged_on()) {
        while (!items_.empty() && batch.size() < kBatch) {
          batch.push_back(std::move(items_.front()));
          items_.pop_front();
        }
      }
    }
    if (walking) walk_step();
    if (batch.empty()) continue;
    std::deque<Item> unsent = dispatch(batch);
    if (!unsent.empty()) {
      std::lock_guard lock(mu_);
      items_.insert(items_.begin(), std::make_move_iterator(unsent.begin()),
                    std::make_move_iterator(unsent.end()));
      spdlog::debug("broker {}: {} messages wait", broker, unsent.size());
    }
  }
}

void Lane::walk_step() {
  bool requeue, query;
  std::string cursor;
  {
    std::lock_guard lock(mu_);
    requeue = walk_requeue_;
    query = walk_query_;
    cursor = walk_cursor_;
  }
  if (query && !adapter_->logged_on()) query = false;  // asked again at the next logon
  if (!requeue && !query) {
    std::lock_guard lock(mu_);
    walk_query_ = false;
    return;
  }
  const core::BrokerRules r = rules();
  std::vector<store::VersionedOrder> open;
  auto st = shared_.store.read([&](store::ReadTxn& txn) {
    return txn.for_each_open_order(adapter_->broker(), cursor,
                                   [&](const store::VersionedOrder& vo) {
                                     open.push_back(vo);
                                     return open.size() < kWalkBatch;
                                   });
  });
  if (!st) {
    spdlog::error("broker {}: cannot walk open orders: {}", adapter_->broker(), st.error().detail);
    return;
  }
  std::size_t queued = 0, asked = 0;
  bool blocked = false;
  std::string reached = cursor;
  for (const auto& vo : open) {
    const core::Order& o = vo.order;
    const bool never_sent = o.send_attempts == 0 && (o.state == core::OrderState::kPendingNew ||
                                                     o.state == core::OrderState::kPendingCancel);
    if (requeue && never_sent) {
      if (!try_push_walk({core::Send::kNewOrder, o.request.client_order_id})) {
        blocked = true;
        break;
      }
      ++queued;
    } else if (query && core::query_after_logon(o, r)) {
      const auto now = shared_.clock();
      if (!budget_available(now) ||
          !try_push_walk({core::Send::kStatusQuery, o.request.client_order_id})) {
        blocked = true;
        break;
      }
      take_budget(now);
      ++asked;
    }
    reached = o.request.client_order_id;
  }
  std::lock_guard lock(mu_);
  walk_cursor_ = reached;
  if (!blocked && open.size() < kWalkBatch) {
    walk_requeue_ = walk_query_ = false;
    walk_cursor_.clear();
  }
  if (queued || asked) {
    spdlog::info("broker {}: recovery walk re-queued {} and asked the status of {} orders",
                 adapter_->broker(), queued, asked);
  }
}

void Lane::pace() {
  if (policy_.max_messages_per_s == 0) return;
  const auto gap = std::chrono::nanoseconds(1'000'000'000 / policy_.max_messages_per_s);
  const auto now = std::chrono::steady_clock::now();
  if (next_send_ > now) std::this_thread::sleep_until(next_send_);
  next_send_ = std::max(now, next_send_) + gap;
}

void Lane::on_store_error(const Item& item, const store::StoreError& e, std::deque<Item>& retry) {
  if (e.retriable()) {
    shared_.metrics.store_retries++;
    retry.push_back(item);
    std::lock_guard lock(mu_);
    retry_backoff_ = std::min<std::chrono::milliseconds>(
        kRetryMax, kRetryFirst * (1 << std::min(error_streak_++, 7u)));
    return;
  }
  shared_.metrics.store_failures++;
  shared_.metrics.operator_alerts++;
  spdlog::critical("broker {}: cannot prepare {} for {}: {} {}; parked, retried every {} s",
                   adapter_->broker(), core::to_string(item.send), item.client_order_id,
                   store::to_string(e.code), e.detail,
                   std::chrono::duration_cast<std::chrono::seconds>(kParkRetry).count());
  std::lock_guard lock(mu_);
  parked_.push_back({item, std::chrono::steady_clock::now() + kParkRetry});
}

std::deque<Lane::Item> Lane::dispatch(std::deque<Item>& batch) {
  struct Prepared {
    Item item;
    std::optional<Carried> carried;
    store::Status status;
  };
  std::vector<std::shared_ptr<Prepared>> prepared;
  std::vector<std::future<store::Status>> done;
  const core::TimestampUs now = shared_.clock();
  const core::BrokerRules r = rules();
  for (auto& item : batch) {
    auto p = std::make_shared<Prepared>(Prepared{std::move(item), std::nullopt, {}});
    prepared.push_back(p);
    auto promise = std::make_shared<std::promise<store::Status>>();
    done.push_back(promise->get_future());
    shared_.store.submit(
        [p, r, now](store::WriteTxn& txn) -> store::Status {
          auto current = txn.get_order(p->item.client_order_id);
          if (!current) {
            if (current.error().code == store::StoreErrc::kNotFound) return {};
            return tl::unexpected(current.error());
          }
          auto wait = read_wait(txn, p->item.client_order_id);
          if (!wait) return tl::unexpected(wait.error());
          core::Decision d = core::decide_dispatch(current->order, p->item.send, *wait, r, now);
          Carried c;
          if (auto s = carry_out(txn, *current, *wait, std::move(d), nullptr, now, c); !s) {
            return s;
          }
          p->carried = std::move(c);
          return {};
        },
        [promise](store::Status s) { promise->set_value(std::move(s)); });
  }
  for (std::size_t i = 0; i < done.size(); ++i) prepared[i]->status = done[i].get();

  std::deque<Item> unsent;
  bool store_ok = true;
  for (auto& p : prepared) store_ok &= static_cast<bool>(p->status);
  if (store_ok) {
    std::lock_guard lock(mu_);
    error_streak_ = 0;
  }
  for (auto& p : prepared) {
    if (!p->status) {
      on_store_error(p->item, p->status.error(), unsent);
      continue;
    }
    if (!p->carried) continue;
    after_commit(shared_, *p->carried, now);
    const core::Send send = p->carried->decision.send;
    if (send == core::Send::kNothing) continue;
    if (!unsent.empty()) {  // keep per-lane order: nothing overtakes an unsent message
      unsent.push_back(p->item);
      continue;
    }
    pace();
    const core::Order& order = p->carried->order;
    adapters::SendResult sent;
    switch (send) {
      case core::Send::kNewOrder:
        sent = adapter_->send_new_order(order, false);
        break;
      case core::Send::kResendNewOrder:
        sent = adapter_->send_new_order(order, true);
        if (sent) shared_.metrics.resends_sent++;
        break;
      case core::Send::kCancel:
        sent = adapter_->send_cancel(order, order.cancel_id);
        break;
      case core::Send::kStatusQuery:
        sent = adapter_->send_status_request(order);
        if (sent) shared_.metrics.status_queries_sent++;
        break;
      case core::Send::kNothing:
        break;
    }
    if (sent) {
      shared_.metrics.messages_sent++;
      continue;
    }
    shared_.metrics.send_failures++;
    spdlog::warn("broker {}: {} for {} not sent: {}", adapter_->broker(), core::to_string(send),
                 p->item.client_order_id, sent.error().detail);
    // A new order or resend whose attempt is already marked is left as it is: it may have
    // reached the broker, and its deadline resolves it as unknown rather than sending it
    // blindly again. Cancels and status queries are safe to repeat.
    if (sent.error().retriable() &&
        (send == core::Send::kCancel || send == core::Send::kStatusQuery)) {
      unsent.push_back({send, p->item.client_order_id});
    }
  }
  return unsent;
}

}  // namespace brokergw::service
