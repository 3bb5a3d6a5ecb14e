// The outbox publisher: moves events from the store to the event sink (Kafka) in sequence
// order and advances the durable published cursor only on delivery reports.
//
// Threads: one publisher thread owns the sink (produce/poll) and all cursor state.
// notify() may be called from any thread after events were committed.
//
// Invariants: the persisted cursor never passes an undelivered event; after a restart
// publishing resumes at cursor + 1, so at most the unacknowledged tail is sent again, under
// the same ids and with the same payloads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "gateway/events/event_sink.h"
#include "store/store.h"

namespace brokergw::events {

struct PublisherOptions {
  std::string instance_id;
  std::size_t batch = 1000;               // events read from the store per round
  std::size_t max_in_flight = 50000;      // events handed to the sink and not yet reported
  std::uint32_t cursor_interval_ms = 50;  // how often the delivered cursor is persisted
};

struct PublisherStats {
  std::uint64_t delivered = 0;      // delivery reports received (successful)
  std::uint64_t failed = 0;         // delivery reports with an error (re-produced)
  std::uint64_t produced = 0;       // produce calls accepted (including re-sends)
  std::uint64_t acked_through = 0;  // every event <= this is delivered
  std::uint64_t persisted_cursor = 0;
  bool sink_healthy = true;
};

class OutboxPublisher {
 public:
  // The sink is created by the caller with `delivery_callback()` as its DeliveryFn.
  OutboxPublisher(store::Store& store, PublisherOptions options);
  ~OutboxPublisher();

  EventSink::DeliveryFn delivery_callback();
  // Starts the thread; reads the persisted cursor first. The sink must outlive stop().
  store::Status start(EventSink& sink);
  // Flushes what it can (bounded wait), persists the cursor and joins.
  void stop();
  void notify();
  PublisherStats stats() const;

 private:
  void run();
  void on_delivery(std::uint64_t seq, bool delivered, const std::string& error);
  void persist_cursor(bool wait);

  store::Store& store_;
  PublisherOptions options_;
  EventSink* sink_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;

  // Publisher-thread state (delivery callbacks run inside poll on this thread).
  std::uint64_t next_to_produce_ = 1;
  std::set<std::uint64_t> delivered_ahead_;  // delivered but not contiguous yet
  std::uint64_t persisted_ = 0;
  std::chrono::steady_clock::time_point last_persist_{};

  mutable std::mutex stats_mu_;
  PublisherStats stats_;
};

}  // namespace brokergw::events
