// The retry scheduler: the only place that turns a broker's silence into unknown_at_broker and
// an unknown order into an operator alert. It reads the durable schedule (one entry per
// waiting order, core::Wait), asks core::decide_due what each due entry means, carries the
// decisions out in one group commit per batch and hands the sends to the broker lanes.
//
// Threads: its own thread; wake() and stop() from any thread. stop() returns within one
// batch (at most kBatch entries, one synced commit), whatever the backlog.
//
// Invariants: a deadline declares silence only when the broker's session is down or the
// adapter has proven it read everything the broker sent before the deadline (otherwise it
// probes and looks again); a resolution attempt goes out only within the broker's budget and
// when its lane has room, else it waits without being counted.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/service/context.h"

namespace brokergw::service {

class Scheduler {
 public:
  explicit Scheduler(Shared& shared);
  ~Scheduler();
  void start();
  void stop();
  void wake();

 private:
  static constexpr std::size_t kBatch = 64;
  void run();
  void process(const std::vector<store::RetryEntry>& due);
  std::uint64_t draw();

  Shared& shared_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::uint64_t rng_state_;
};

}  // namespace brokergw::service
