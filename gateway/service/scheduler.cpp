#include "gateway/service/scheduler.h"

#include <chrono>
#include <future>

#include <spdlog/spdlog.h>

#include "gateway/service/carry_out.h"
#include "gateway/service/lane.h"

namespace brokergw::service {

Scheduler::Scheduler(Shared& shared)
    : shared_(shared), rng_state_(static_cast<std::uint64_t>(shared.clock()) | 1) {}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::uint64_t Scheduler::draw() {
  // xorshift64*: jitter needs spread, not cryptographic quality. Scheduler thread only.
  rng_state_ ^= rng_state_ >> 12;
  rng_state_ ^= rng_state_ << 25;
  rng_state_ ^= rng_state_ >> 27;
  return rng_state_ * 0x2545F4914F6CDD1DULL;
}

void Scheduler::run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      woken_ = false;
    }
    std::optional<core::TimestampUs> next_due;
    std::vector<store::RetryEntry> due;
    const core::TimestampUs now = shared_.clock();
    auto st = shared_.store.read([&](store::ReadTxn& txn) -> store::Status {
      auto d = txn.due_retries(now, kBatch);
      if (!d) return tl::unexpected(d.error());
      due = std::move(*d);
      auto n = txn.next_retry_due();
      if (!n) return tl::unexpected(n.error());
      next_due = *n;
      return {};
    });
    if (!st) spdlog::error("scheduler: cannot read the schedule: {}", st.error().detail);
    if (!due.empty()) {
      process(due);
      continue;  // more may be due; the stop flag is checked first
    }
    // Sleep until the next entry is due, at most 200 ms (other threads add entries).
    auto wait = std::chrono::milliseconds(200);
    if (next_due) {
      const auto until = std::chrono::microseconds(std::max<core::TimestampUs>(0, *next_due - now));
      wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(until) +
                                std::chrono::milliseconds(1));
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
  }
}

void Scheduler::process(const std::vector<store::RetryEntry>& due) {
  struct Job {
    std::string id;
    std::optional<Carried> carried;
    Lane* lane = nullptr;
    bool reserved = false;  // a lane slot is held for the decision's send
    store::Status status;
  };
  const core::TimestampUs now = shared_.clock();
  std::vector<std::shared_ptr<Job>> jobs;
  std::vector<std::future<store::Status>> done;
  for (const auto& entry : due) {
    auto job = std::make_shared<Job>();
    job->id = entry.client_order_id;
    const std::uint64_t random = draw();
    auto promise = std::make_shared<std::promise<store::Status>>();
    done.push_back(promise->get_future());
    jobs.push_back(job);
    shared_.store.submit(
        [this, job, now, random](store::WriteTxn& txn) -> store::Status {
          // Re-read inside the transaction: the entry may have been replaced or answered.
          auto wait = read_wait(txn, job->id);
          if (!wait) return tl::unexpected(wait.error());
          if (!*wait || (*wait)->due_us > now) return {};
          auto current = txn.get_order(job->id);
          if (!current) {
            if (current.error().code != store::StoreErrc::kNotFound) {
              return tl::unexpected(current.error());
            }
            return txn.cancel_retry(job->id);
          }
          Lane* lane = shared_.lane_for(current->order.request.broker);
          if (!lane) {
            spdlog::error("scheduler: order {} is for broker {}, which is not configured", job->id,
                          current->order.request.broker);
            return txn.schedule_retry(
                {job->id, core::kNeverDue, (*wait)->attempt, core::Step::kAttention});
          }
          job->lane = lane;
          adapters::BrokerAdapter& adapter = lane->adapter();
          core::DueContext ctx;
          ctx.session_up = adapter.logged_on();
          ctx.inbound_read_up_to_us = adapter.inbound_read_up_to_us();
          ctx.budget_available = lane->budget_available(now);
          ctx.budget_retry_us = lane->budget_next_us(now);
          ctx.draw = random;
          const core::BrokerRules rules = lane->rules();
          core::Decision d = core::decide_due(current->order, **wait, rules, ctx, now);
          if (d.send != core::Send::kNothing) {
            // The send needs a lane slot, held from now: an attempt is counted only if it
            // will go out. A full lane makes it wait, uncounted, like a spent budget.
            if (!job->reserved && lane->try_reserve_slot()) job->reserved = true;
            if (!job->reserved) {
              ctx.budget_available = false;
              ctx.budget_retry_us = now + 100'000;
              d = core::decide_due(current->order, **wait, rules, ctx, now);
            }
          }
          if (d.uses_budget) lane->take_budget(now);
          Carried c;
          if (auto s = carry_out(txn, *current, *wait, std::move(d), nullptr, now, c); !s) {
            return s;
          }
          job->carried = std::move(c);
          return {};
        },
        [promise](store::Status s) { promise->set_value(std::move(s)); });
  }
  for (std::size_t i = 0; i < done.size(); ++i) jobs[i]->status = done[i].get();
  bool failed = false;
  for (auto& job : jobs) {
    const bool will_send =
        job->status && job->carried && job->carried->decision.send != core::Send::kNothing;
    if (job->reserved && !will_send) job->lane->release_reservation();
    if (!job->status) {
      failed = true;
      shared_.metrics.store_failures++;
      spdlog::error("scheduler: entry of {} failed: {} {}; it stays due", job->id,
                    store::to_string(job->status.error().code), job->status.error().detail);
      continue;
    }
    if (!job->carried) continue;
    const Carried& c = *job->carried;
    after_commit(shared_, c, now);
    switch (c.decision.reason) {
      case core::Reason::kReaderBehind:
        shared_.metrics.reader_behind++;
        break;
      case core::Reason::kBudget:
        shared_.metrics.budget_deferrals++;
        break;
      default:
        break;
    }
    if (c.decision.probe && job->lane) job->lane->adapter().probe_inbound(now);
    if (c.decision.send != core::Send::kNothing && job->lane) {
      spdlog::info("order {}: {} by {}", job->id, c.decision.detail,
                   core::to_string(c.decision.send));
      job->lane->push_reserved({c.decision.send, job->id});
    }
  }
  if (failed) {
    // The entries stay due: look again after a pause rather than spin on a failing store.
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
  }
}

}  // namespace brokergw::service
