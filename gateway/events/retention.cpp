#include "gateway/events/retention.h"

#include <spdlog/spdlog.h>

namespace brokergw::events {

RetentionJob::RetentionJob(store::Store& store, std::function<core::TimestampUs()> clock,
                           RetentionOptions options)
    : store_(store), clock_(std::move(clock)), options_(options) {}

RetentionJob::~RetentionJob() { stop(); }

void RetentionJob::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
      lock.unlock();
      auto r = run_once();
      if (!r) spdlog::error("retention: compaction failed: {}", r.error().detail);
      lock.lock();
    }
  });
}

void RetentionJob::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

store::Result<store::CompactionStats> RetentionJob::run_once() {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const core::TimestampUs now = clock_();
  const core::TimestampUs events_before =
      now - duration_cast<microseconds>(options_.events_retention).count();
  const core::TimestampUs dedup_before =
      now - duration_cast<microseconds>(options_.dedup_retention).count();
  store::CompactionStats total;
  while (true) {
    auto r = store_.write_and_wait<store::CompactionStats>(
        [&](store::WriteTxn& txn, std::optional<store::CompactionStats>& out) -> store::Status {
          if (!options_.kafka_enabled) {
            auto last = txn.last_event_seq();
            if (!last) return tl::unexpected(last.error());
            if (auto s = txn.set_published_seq(*last); !s) return s;
          }
          auto c = txn.compact(events_before, dedup_before, options_.max_items_per_commit);
          if (!c) return tl::unexpected(c.error());
          out = *c;
          return {};
        });
    if (!r) return tl::unexpected(r.error());
    total.events_deleted += r->events_deleted;
    total.dedup_keys_deleted += r->dedup_keys_deleted;
    if (!r->more) break;
  }
  if (total.events_deleted || total.dedup_keys_deleted) {
    spdlog::info("retention: deleted {} events and {} dedup keys", total.events_deleted,
                 total.dedup_keys_deleted);
  }
  return total;
}

}  // namespace brokergw::events
