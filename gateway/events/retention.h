// Retention of events and de-duplication keys: a background thread that compacts the store
// every interval. Compaction never deletes an unpublished event (the store refuses to), and
// keeps dedup keys for their own, longer retention.
//
// Threads: one retention thread; start/stop from the main thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "gateway/core/order.h"
#include "store/store.h"

namespace brokergw::events {

struct RetentionOptions {
  std::chrono::hours events_retention{168};
  std::chrono::hours dedup_retention{720};
  std::chrono::milliseconds interval{60000};
  std::size_t max_items_per_commit = 10000;
  // Without Kafka the polling API is the only consumer, so every event counts as published
  // for retention purposes.
  bool kafka_enabled = true;
};

class RetentionJob {
 public:
  RetentionJob(store::Store& store, std::function<core::TimestampUs()> clock,
               RetentionOptions options);
  ~RetentionJob();
  void start();
  void stop();
  // One full compaction pass (also used by tests); returns what was deleted.
  store::Result<store::CompactionStats> run_once();

 private:
  store::Store& store_;
  std::function<core::TimestampUs()> clock_;
  RetentionOptions options_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace brokergw::events
