// Capped exponential backoff for resolving orders whose outcome at the broker is unknown.
// Pure: the random draw is passed in, so tests and replays are deterministic.
//
// Attempt n (n >= 1) waits min(cap, base * 2^(n-1)), spread by +-jitter_pct percent. The
// defaults mirror the reference system: 1, 2, 4, 8 minutes, then an operator is told.
#pragma once

#include <cstdint>

namespace brokergw::core {

struct BackoffPolicy {
  std::uint64_t base_ms = 60000;
  std::uint64_t cap_ms = 480000;
  std::uint32_t max_attempts = 4;
  std::uint32_t jitter_pct = 10;  // 0..100
};

// The wait before attempt `attempt + 1`, given that attempt `attempt` (>= 1) just ran.
// `draw` is any uniformly random 64-bit value. Never returns 0.
std::uint64_t retry_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt,
                             std::uint64_t draw);

// The nominal (jitter-free) wait, for documentation and tests.
std::uint64_t nominal_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt);

}  // namespace brokergw::core
