// The capped exponential backoff: nominal schedule, jitter bounds, cap, and saturation.
#include <random>

#include <gtest/gtest.h>

#include "gateway/core/backoff.h"

namespace brokergw::core {
namespace {

TEST(Backoff, defaultsMirrorTheReferenceSystem) {
  BackoffPolicy p;  // 1 minute base, 8 minute cap, 4 attempts
  EXPECT_EQ(nominal_delay_ms(p, 1), 60000u);
  EXPECT_EQ(nominal_delay_ms(p, 2), 120000u);
  EXPECT_EQ(nominal_delay_ms(p, 3), 240000u);
  EXPECT_EQ(nominal_delay_ms(p, 4), 480000u);
  EXPECT_EQ(nominal_delay_ms(p, 5), 480000u);  // capped
}

TEST(Backoff, jitterStaysWithinTheSpreadForEveryDraw) {
  BackoffPolicy p{.base_ms = 200, .cap_ms = 1600, .max_attempts = 5, .jitter_pct = 10};
  std::mt19937_64 rng(42);
  for (std::uint32_t attempt = 1; attempt <= 6; ++attempt) {
    const std::uint64_t nominal = nominal_delay_ms(p, attempt);
    std::uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 5000; ++i) {
      const std::uint64_t d = retry_delay_ms(p, attempt, rng());
      ASSERT_GE(d, nominal - nominal / 10) << attempt;
      ASSERT_LE(d, nominal + nominal / 10) << attempt;
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    EXPECT_LT(lo, nominal);  // the spread is used both ways
    EXPECT_GT(hi, nominal);
  }
}

TEST(Backoff, noJitterIsExactAndNeverZero) {
  BackoffPolicy p{.base_ms = 0, .cap_ms = 0, .max_attempts = 1, .jitter_pct = 0};
  EXPECT_EQ(retry_delay_ms(p, 1, 12345), 1u);
  BackoffPolicy q{.base_ms = 7, .cap_ms = 100, .max_attempts = 3, .jitter_pct = 0};
  EXPECT_EQ(retry_delay_ms(q, 2, 999), 14u);
}

TEST(Backoff, hugeAttemptNumbersSaturateAtTheCap) {
  BackoffPolicy p{.base_ms = 3, .cap_ms = UINT64_MAX / 2, .max_attempts = 100, .jitter_pct = 50};
  EXPECT_EQ(nominal_delay_ms(p, 100), std::uint64_t{3} << 40);
  BackoffPolicy q{.base_ms = 1000, .cap_ms = 5000, .max_attempts = 100, .jitter_pct = 0};
  EXPECT_EQ(nominal_delay_ms(q, 4000000000u), 5000u);
}

}  // namespace
}  // namespace brokergw::core
