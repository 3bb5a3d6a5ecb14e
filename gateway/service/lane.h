// One broker's lane: a bounded queue of things to send and the dispatcher thread that sends
// them, so a slow or dead broker never blocks intake or another broker. Also owns the broker's
// resolution budget (core/budget.h), what the broker has shown it supports at run time, and
// the walk over its open orders after a restart (re-queue) and a logon (status queries).
//
// Threads: push/reserve/walk requests from any thread; the dispatcher thread alone prepares
// (one group commit per batch), sends, and walks. The adapter's send_* run only there.
//
// Invariants:
//  * one hard bound, policy.queue_capacity, for every kind of item (intake reserves a slot
//    before it stores an order; everyone else uses try_push and copes with "full");
//  * nothing reaches the adapter before the decision that sends it is durable;
//  * no item is dropped on a store error: a retriable error is retried with backoff, any
//    other parks the item (retried later, alerted, visible in health) without blocking the
//    items behind it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/adapter.h"
#include "gateway/core/budget.h"
#include "gateway/service/context.h"

namespace brokergw::service {

class Lane {
 public:
  struct Item {
    core::Send send = core::Send::kNothing;
    std::string client_order_id;
  };

  Lane(std::unique_ptr<adapters::BrokerAdapter> adapter, BrokerPolicy policy, Shared& shared);
  ~Lane();

  adapters::BrokerAdapter& adapter() { return *adapter_; }
  const adapters::BrokerAdapter& adapter() const { return *adapter_; }
  const BrokerPolicy& policy() const { return policy_; }
  // The policy's rules with what the broker has shown at run time.
  core::BrokerRules rules() const;
  // The broker refused a status request: from now on it is not asked (until restart).
  void status_refused();
  bool status_query_refused() const;

  std::size_t capacity() const { return policy_.queue_capacity; }
  std::size_t queued() const;
  std::uint64_t full_count() const;
  std::size_t parked() const;

  // Intake: a slot is reserved before the order is stored, so a full lane refuses the order
  // before anything is written, and a stored order always has a slot.
  bool try_reserve();
  void release_reservation();
  void push_reserved(Item item);
  // Everyone else: false (and counted) when the lane is full.
  bool try_push(Item item);
  bool has_room() const;
  // A slot for an item to push later (push_reserved) or give back (release_reservation).
  bool try_reserve_slot();

  // Walk the broker's open orders: re-queue never-sent ones (after a restart) and/or ask for
  // the status of sent ones (after a logon). Bounded by the queue and the budget.
  void request_walk(bool requeue, bool query);

  // The resolution budget (status queries and resends).
  bool take_budget(core::TimestampUs now);
  bool budget_available(core::TimestampUs now);
  core::TimestampUs budget_next_us(core::TimestampUs now);
  void budget_answered();
  std::size_t budget_in_flight(core::TimestampUs now);

  void start();
  void stop();
  void wake() { cv_.notify_all(); }

 private:
  struct Parked {
    Item item;
    std::chrono::steady_clock::time_point retry_at;
  };
  void run();
  void walk_step();
  // The walk's push: only into the lower half of the lane (intake keeps the rest).
  bool try_push_walk(Item item);
  void pace();
  // Prepares (one group commit) and sends; returns what must wait for the session.
  std::deque<Item> dispatch(std::deque<Item>& batch);
  void on_store_error(const Item& item, const store::StoreError& e, std::deque<Item>& retry);

  std::unique_ptr<adapters::BrokerAdapter> adapter_;
  const BrokerPolicy policy_;
  Shared& shared_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  std::deque<Parked> parked_;
  std::size_t reserved_ = 0;
  std::uint64_t full_ = 0;
  bool stopping_ = false;
  bool walk_requeue_ = false;
  bool walk_query_ = false;
  std::string walk_cursor_;
  bool status_refused_ = false;
  std::chrono::milliseconds retry_backoff_{0};  // wait before the next batch (store errors)
  unsigned error_streak_ = 0;

  std::mutex budget_mu_;
  core::ResolutionBudget budget_;

  std::thread thread_;
  std::chrono::steady_clock::time_point next_send_{};
};

}  // namespace brokergw::service
