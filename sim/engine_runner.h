// Runs the Engine on its own thread: takes parsed requests from the QuickFIX callback thread
// through a bounded queue, wakes up for each order's next timed step, and hands every answer to
// an OutgoingSink. The QuickFIX callback thread therefore never sleeps or waits for a fill.
//
// Threads: submit() is called from the QuickFIX callback thread (any thread is fine);
// start()/stop() from main; the sink is called from the engine thread only.
//
// Invariants: the Engine is touched by the engine thread only; answers reach the sink in the
// order the engine produced them; the queue never holds more than max_queue requests. Steps
// still pending at stop() are dropped (a stopped broker sends nothing).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>

#include "sim/engine.h"

namespace brokergw::sim {

class OutgoingSink {
 public:
  virtual ~OutgoingSink() = default;
  // Called on the engine thread. Must not throw; report failures through its own logging.
  virtual void deliver(const Outgoing& message) = 0;
};

class EngineRunner {
 public:
  EngineRunner(Engine& engine, OutgoingSink& sink, std::size_t max_queue);
  ~EngineRunner();
  EngineRunner(const EngineRunner&) = delete;
  EngineRunner& operator=(const EngineRunner&) = delete;

  void start();
  // Queues a request. False when the queue is full or the runner is stopped.
  bool submit(Inbound request);
  // Stops the engine thread and joins it. Idempotent.
  void stop();

 private:
  void run();

  Engine& engine_;
  OutgoingSink& sink_;
  const std::size_t max_queue_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Inbound> queue_;  // guarded by mutex_
  bool stopping_ = false;      // guarded by mutex_
  std::thread thread_;
};

}  // namespace brokergw::sim
