// Unit tests for gateway/core/budget.h (ResolutionBudget), from the header's rules: a token
// bucket of max_per_s per second (burst max_per_s), at most max_in_flight requests awaiting an
// answer, outstanding requests released by answered() or after expire_us, 0 meaning unlimited.
#include "gateway/core/budget.h"

#include <gtest/gtest.h>

namespace brokergw::core {
namespace {

constexpr TimestampUs kT0 = 1'700'000'000'000'000;
constexpr TimestampUs kMs = 1'000;
constexpr TimestampUs kSec = 1'000'000;

TEST(ResolutionBudget, RateIsATokenBucketWithABurstOfMaxPerSecond) {
  ResolutionBudget b(5, 0, 10 * kSec);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(kT0)) << i;  // the burst
  EXPECT_FALSE(b.available(kT0));
  EXPECT_FALSE(b.take(kT0));
  // One token every 200 ms.
  EXPECT_FALSE(b.take(kT0 + 150 * kMs));
  EXPECT_TRUE(b.take(kT0 + 201 * kMs));
  EXPECT_FALSE(b.take(kT0 + 201 * kMs));
  EXPECT_TRUE(b.take(kT0 + 402 * kMs));
  // A long idle period refills the bucket to the burst, never beyond.
  const TimestampUs later = kT0 + 60 * kSec;
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(b.take(later)) << i;
  EXPECT_FALSE(b.take(later));
}

TEST(ResolutionBudget, FractionalRefillAtOnePerSecond) {
  ResolutionBudget b(1, 0, kSec);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_FALSE(b.take(kT0 + 500 * kMs));
  EXPECT_FALSE(b.take(kT0 + 999 * kMs));
  EXPECT_TRUE(b.take(kT0 + 1001 * kMs));
}

TEST(ResolutionBudget, InFlightBoundReleasedByAnswers) {
  ResolutionBudget b(0, 3, 10 * kSec);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(b.take(kT0)) << i;
  EXPECT_EQ(b.in_flight(kT0), 3U);
  EXPECT_FALSE(b.available(kT0));
  EXPECT_FALSE(b.take(kT0));
  EXPECT_EQ(b.in_flight(kT0), 3U) << "a refused take adds nothing";
  b.answered();
  EXPECT_EQ(b.in_flight(kT0), 2U);
  EXPECT_TRUE(b.take(kT0 + 1));
  EXPECT_FALSE(b.take(kT0 + 2));
}

TEST(ResolutionBudget, UnansweredRequestsExpireSoTheBudgetNeverClosesForGood) {
  ResolutionBudget b(0, 2, 10 * kSec);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_TRUE(b.take(kT0 + kSec));
  EXPECT_FALSE(b.take(kT0 + 2 * kSec));
  EXPECT_FALSE(b.available(kT0 + 10 * kSec - 1)) << "the oldest is not yet older than expire_us";
  EXPECT_EQ(b.in_flight(kT0 + 10 * kSec + 1), 1U);
  EXPECT_TRUE(b.take(kT0 + 10 * kSec + 1));
  EXPECT_FALSE(b.take(kT0 + 10 * kSec + 2));
  EXPECT_EQ(b.in_flight(kT0 + 11 * kSec + 1), 1U);
  EXPECT_EQ(b.in_flight(kT0 + 30 * kSec), 0U);
}

TEST(ResolutionBudget, AnsweredReleasesTheOldest) {
  ResolutionBudget b(0, 2, 10 * kSec);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_TRUE(b.take(kT0 + 5 * kSec));
  b.answered();
  EXPECT_EQ(b.in_flight(kT0 + 5 * kSec), 1U);
  // What remains is the one sent at +5 s: it expires at +15 s, not at +10 s.
  EXPECT_EQ(b.in_flight(kT0 + 10 * kSec + 1), 1U);
  EXPECT_EQ(b.in_flight(kT0 + 15 * kSec + 1), 0U);
}

TEST(ResolutionBudget, AnsweredWithNothingOutstandingGivesNoCredit) {
  ResolutionBudget b(0, 1, 10 * kSec);
  b.answered();
  b.answered();
  EXPECT_EQ(b.in_flight(kT0), 0U);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_FALSE(b.take(kT0));
}

TEST(ResolutionBudget, AvailableAndARefusedTakeSpendNothing) {
  ResolutionBudget b(2, 1, 10 * kSec);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(b.available(kT0));
  EXPECT_TRUE(b.take(kT0));   // 1 token left, 1 in flight
  EXPECT_FALSE(b.take(kT0));  // refused by the in-flight bound: must not spend the token
  b.answered();
  EXPECT_TRUE(b.take(kT0)) << "the refused take spent a token";
  b.answered();
  EXPECT_FALSE(b.take(kT0)) << "two tokens a second";
}

TEST(ResolutionBudget, NextAvailableIsNowWhenAvailable) {
  ResolutionBudget b(3, 3, 10 * kSec);
  EXPECT_EQ(b.next_available_us(kT0), kT0);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_EQ(b.next_available_us(kT0), kT0);
}

TEST(ResolutionBudget, NextAvailableForTheRate) {
  ResolutionBudget b(2, 0, 10 * kSec);
  EXPECT_TRUE(b.take(kT0));
  EXPECT_TRUE(b.take(kT0));
  const TimestampUs next = b.next_available_us(kT0);
  EXPECT_GE(next, kT0 + 500 * kMs);
  EXPECT_LE(next, kT0 + 501 * kMs);
  EXPECT_EQ(b.next_available_us(kT0), next) << "asking changes nothing";
  EXPECT_FALSE(b.available(kT0 + 499 * kMs));
  EXPECT_TRUE(b.take(next));
}

TEST(ResolutionBudget, NextAvailableForTheInFlightBound) {
  ResolutionBudget b(0, 1, 10 * kSec);
  EXPECT_TRUE(b.take(kT0));
  const TimestampUs next = b.next_available_us(kT0 + kSec);
  EXPECT_GE(next, kT0 + 10 * kSec);
  EXPECT_LE(next, kT0 + 10 * kSec + 1);
  EXPECT_FALSE(b.available(next - 2));
  EXPECT_TRUE(b.take(next));
}

TEST(ResolutionBudget, NextAvailableIsTheLaterOfBothLimits) {
  ResolutionBudget b(1, 1, 10 * kSec);
  EXPECT_TRUE(b.take(kT0));  // no token for 1 s, no slot for 10 s
  TimestampUs next = b.next_available_us(kT0);
  EXPECT_GE(next, kT0 + 10 * kSec);
  EXPECT_LE(next, kT0 + 10 * kSec + kMs);
  b.answered();  // the slot is free: only the rate remains
  next = b.next_available_us(kT0);
  EXPECT_GE(next, kT0 + kSec);
  EXPECT_LE(next, kT0 + kSec + kMs);
  EXPECT_TRUE(b.take(next));
}

TEST(ResolutionBudget, UnlimitedSettings) {
  ResolutionBudget unlimited(0, 0, kSec);
  for (int i = 0; i < 10'000; ++i) ASSERT_TRUE(unlimited.take(kT0)) << i;
  EXPECT_TRUE(unlimited.available(kT0));
  EXPECT_EQ(unlimited.next_available_us(kT0), kT0);
  unlimited.answered();  // harmless
  EXPECT_TRUE(unlimited.take(kT0));

  // Unlimited rate, bounded in flight.
  ResolutionBudget slots(0, 2, 10 * kSec);
  EXPECT_TRUE(slots.take(kT0));
  EXPECT_TRUE(slots.take(kT0));
  EXPECT_FALSE(slots.take(kT0));

  // Bounded rate, no in-flight bound: unanswered requests never block.
  ResolutionBudget rate(10, 0, kSec);
  TimestampUs t = kT0;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(rate.take(t)) << i;
    t += 101 * kMs;
  }
}

}  // namespace
}  // namespace brokergw::core
