#include "sim/engine_runner.h"

#include <chrono>
#include <utility>
#include <vector>

namespace brokergw::sim {
namespace {

using Clock = std::chrono::steady_clock;

SteadyMs now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

}  // namespace

EngineRunner::EngineRunner(Engine& engine, OutgoingSink& sink, std::size_t max_queue)
    : engine_(engine), sink_(sink), max_queue_(max_queue) {}

EngineRunner::~EngineRunner() { stop(); }

void EngineRunner::start() {
  thread_ = std::thread([this] { run(); });
}

bool EngineRunner::submit(Inbound request) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(request));
  }
  wake_.notify_one();
  return true;
}

void EngineRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void EngineRunner::run() {
  std::vector<Outgoing> out;
  std::deque<Inbound> batch;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      const auto ready = [this] { return stopping_ || !queue_.empty(); };
      if (const auto due = engine_.next_due()) {
        wake_.wait_until(lock, Clock::time_point(std::chrono::milliseconds(*due)), ready);
      } else {
        wake_.wait(lock, ready);
      }
      if (stopping_) break;
    }
    batch.swap(queue_);
    lock.unlock();

    for (const Inbound& request : batch) {
      engine_.handle(request, now_ms(), out);
    }
    batch.clear();
    engine_.run_due(now_ms(), out);
    for (const Outgoing& message : out) sink_.deliver(message);
    out.clear();

    lock.lock();
  }
}

}  // namespace brokergw::sim
