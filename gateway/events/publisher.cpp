#include "gateway/events/publisher.h"

#include <spdlog/spdlog.h>

#include "gateway/events/event_render.h"

namespace brokergw::events {

OutboxPublisher::OutboxPublisher(store::Store& store, PublisherOptions options)
    : store_(store), options_(std::move(options)) {}

OutboxPublisher::~OutboxPublisher() { stop(); }

EventSink::DeliveryFn OutboxPublisher::delivery_callback() {
  return [this](std::uint64_t seq, bool delivered, const std::string& error) {
    on_delivery(seq, delivered, error);
  };
}

store::Status OutboxPublisher::start(EventSink& sink) {
  std::uint64_t cursor = 0;
  auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
    auto c = txn.published_seq();
    if (!c) return tl::unexpected(c.error());
    cursor = *c;
    return {};
  });
  if (!st) return st;
  sink_ = &sink;
  next_to_produce_ = cursor + 1;
  persisted_ = cursor;
  {
    std::lock_guard lock(stats_mu_);
    stats_.acked_through = cursor;
    stats_.persisted_cursor = cursor;
  }
  last_persist_ = std::chrono::steady_clock::now();
  spdlog::info("events: publishing resumes after event {}", cursor);
  thread_ = std::thread([this] { run(); });
  return {};
}

void OutboxPublisher::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  notify();
  thread_.join();
}

void OutboxPublisher::notify() {
  {
    std::lock_guard lock(wake_mu_);
    woken_ = true;
  }
  wake_cv_.notify_one();
}

PublisherStats OutboxPublisher::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

void OutboxPublisher::on_delivery(std::uint64_t seq, bool delivered, const std::string& error) {
  std::lock_guard lock(stats_mu_);
  if (!delivered) {
    // Produce it (and everything after it) again under the same id: a consumer may see a
    // duplicate id, never a gap.
    stats_.failed++;
    spdlog::warn("events: delivery of event {} failed ({}); producing again", seq, error);
    if (seq < next_to_produce_) next_to_produce_ = seq;
    return;
  }
  stats_.delivered++;
  if (seq <= stats_.acked_through) return;  // a re-sent event delivered twice
  delivered_ahead_.insert(seq);
  while (!delivered_ahead_.empty() && *delivered_ahead_.begin() == stats_.acked_through + 1) {
    stats_.acked_through++;
    delivered_ahead_.erase(delivered_ahead_.begin());
  }
}

void OutboxPublisher::persist_cursor(bool wait) {
  std::uint64_t target;
  {
    std::lock_guard lock(stats_mu_);
    target = stats_.acked_through;
  }
  if (target <= persisted_) return;
  auto fn = [target](store::WriteTxn& txn) { return txn.set_published_seq(target); };
  if (wait) {
    if (auto s = store_.write_and_wait(fn); !s) {
      spdlog::error("events: cannot persist cursor {}: {}", target, s.error().detail);
      return;
    }
  } else {
    // Fire and forget: a lost cursor update only means re-sending a few events.
    store_.submit(fn, [target](store::Status s) {
      if (!s) spdlog::error("events: cannot persist cursor {}: {}", target, s.error().detail);
    });
  }
  persisted_ = target;
  std::lock_guard lock(stats_mu_);
  stats_.persisted_cursor = target;
}

void OutboxPublisher::run() {
  bool more = true;
  while (!stopping_) {
    std::size_t in_flight = sink_->in_flight();
    bool produced_any = false;
    if (sink_->healthy() && in_flight < options_.max_in_flight) {
      std::uint64_t from;
      {
        std::lock_guard lock(stats_mu_);
        from = next_to_produce_;
      }
      std::vector<store::StoredEvent> batch;
      auto st = store_.read([&](store::ReadTxn& txn) -> store::Status {
        auto r = txn.events_after(from - 1, options_.batch);
        if (!r) return tl::unexpected(r.error());
        batch = std::move(*r);
        return {};
      });
      if (!st) {
        spdlog::error("events: cannot read the outbox: {}", st.error().detail);
      }
      more = batch.size() == options_.batch;
      for (const auto& ev : batch) {
        OutboundEvent out;
        out.seq = ev.seq;
        // Session events have neither account nor order: their key is the broker.
        out.key = !ev.account.empty()           ? ev.account
                  : !ev.client_order_id.empty() ? ev.client_order_id
                                                : ev.broker;
        out.value = event_payload(ev, options_.instance_id);
        out.headers = {{"event_id", event_id(options_.instance_id, ev.seq)},
                       {"event_type", ev.type},
                       {"broker", ev.broker},
                       {"client_order_id", ev.client_order_id},
                       {"content-type", "application/json; version=1"}};
        auto r = sink_->produce(out);
        if (!r) {
          if (r.error().code != SinkErrc::kQueueFull) {
            spdlog::error("events: cannot produce event {}: {}", ev.seq, r.error().detail);
          }
          more = true;
          break;
        }
        produced_any = true;
        std::lock_guard lock(stats_mu_);
        stats_.produced++;
        // A failure report for an earlier seq may have rewound the cursor meanwhile.
        if (next_to_produce_ == ev.seq) next_to_produce_ = ev.seq + 1;
      }
    }
    {
      std::lock_guard lock(stats_mu_);
      stats_.sink_healthy = sink_->healthy();
    }
    sink_->poll(produced_any || more ? 0 : 5);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_persist_ >= std::chrono::milliseconds(options_.cursor_interval_ms)) {
      persist_cursor(false);
      last_persist_ = now;
    }
    if (!produced_any && !more) {
      std::unique_lock lock(wake_mu_);
      wake_cv_.wait_for(lock, std::chrono::milliseconds(20),
                        [&] { return woken_ || stopping_.load(); });
      woken_ = false;
    }
  }
  sink_->flush(2000);
  sink_->poll(0);
  persist_cursor(true);
  spdlog::info("events: publisher stopped at event {}", persisted_);
}

}  // namespace brokergw::events
