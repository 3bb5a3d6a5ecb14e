// Tells the publisher and long-polling API clients that new events were committed.
// advance() is called by whoever committed events (after the synced commit); wait_after()
// by API threads; the listener (the publisher's notify) runs on the advancing thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace brokergw::events {

class EventNotifier {
 public:
  void set_listener(std::function<void()> listener) {
    std::lock_guard lock(mu_);
    listener_ = std::move(listener);
  }

  // `last_seq`: the highest event seq now durable.
  void advance(std::uint64_t last_seq) {
    std::function<void()> listener;
    {
      std::lock_guard lock(mu_);
      last_seq_ = std::max(last_seq_, last_seq);
      listener = listener_;
    }
    cv_.notify_all();
    if (listener) listener();
  }

  // Waits until an event with seq > after is known, or the timeout; returns the last known seq.
  std::uint64_t wait_after(std::uint64_t after, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return last_seq_ > after || closed_; });
    return last_seq_;
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t last_seq_ = 0;
  bool closed_ = false;
  std::function<void()> listener_;
};

}  // namespace brokergw::events
