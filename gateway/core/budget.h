// The per-broker resolution budget: a bound on the rate of status queries and resends, and on
// how many of them await an answer at once, so resolving unknown orders can never flood a
// broker (the spiral where retries into a slow link make it slower). Pure: time is passed in.
//
// Not thread-safe: the service guards one instance per broker with a mutex.
//
// Rules: take(now) succeeds when fewer than max_in_flight requests are outstanding and the
// token bucket (max_per_s tokens per second, burst max_per_s) has a token. A request counts as
// outstanding until answered() or until it is older than expire_us (an answer that never
// comes must not close the budget for good). max_per_s == 0 means unlimited rate;
// max_in_flight == 0 means no in-flight bound.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

#include "gateway/core/order.h"

namespace brokergw::core {

class ResolutionBudget {
 public:
  ResolutionBudget(std::uint32_t max_per_s, std::uint32_t max_in_flight, TimestampUs expire_us);

  // Would take() succeed now? (no change)
  bool available(TimestampUs now);
  // Spends one request if available; false otherwise (nothing changes).
  bool take(TimestampUs now);
  // One outstanding request got its answer (the oldest is released).
  void answered();
  // When take() may succeed again (now when it would succeed now).
  TimestampUs next_available_us(TimestampUs now);
  std::size_t in_flight(TimestampUs now);

 private:
  void expire(TimestampUs now);
  void refill(TimestampUs now);

  std::uint32_t max_per_s_;
  std::uint32_t max_in_flight_;
  TimestampUs expire_us_;
  double tokens_;
  TimestampUs refilled_at_us_ = 0;
  std::deque<TimestampUs> outstanding_;  // send times, oldest first
};

}  // namespace brokergw::core
