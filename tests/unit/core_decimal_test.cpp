// Unit tests for gateway/core/decimal.h: the accepted grammar, canonical formatting, overflow
// limits, notional arithmetic and half-up average prices.
#include "gateway/core/decimal.h"

#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace brokergw::core {
namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();

Qty qty(std::int64_t mantissa) { return Qty{Decimal::from_mantissa(mantissa)}; }
Price price(std::int64_t mantissa) { return Price{Decimal::from_mantissa(mantissa)}; }

struct Accepted {
  const char* text;
  std::int64_t mantissa;
  const char* canonical;
};

TEST(DecimalParse, AcceptsCanonicalAndNonCanonicalForms) {
  const Accepted cases[] = {
      {"0", 0, "0"},
      {"0.0", 0, "0"},
      {"000", 0, "0"},
      {"0.00000000", 0, "0"},
      {"1", Decimal::kOne, "1"},
      {"00012", 12 * Decimal::kOne, "12"},
      {"123", 123 * Decimal::kOne, "123"},
      {"123.45", 12'345'000'000, "123.45"},
      {"187.25", 18'725'000'000, "187.25"},
      {"1.50", 150'000'000, "1.5"},
      {"1.00000000", Decimal::kOne, "1"},
      {"000.1", 10'000'000, "0.1"},
      {"0.00000001", 1, "0.00000001"},
      {"0.0000001", 10, "0.0000001"},
      {"12345678.12345678", 1'234'567'812'345'678, "12345678.12345678"},
      {"92233720368.54775807", kMax, "92233720368.54775807"},
      {"92233720368", 9'223'372'036'800'000'000, "92233720368"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    const auto d = Decimal::parse(c.text);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->mantissa(), c.mantissa);
    EXPECT_EQ(d->to_string(), c.canonical);
    // Negatives allowed or not, a non-negative text means the same.
    EXPECT_EQ(Decimal::parse(c.text, /*allow_negative=*/true), d);
  }
}

TEST(DecimalParse, RejectsMalformedText) {
  const char* const cases[] = {
      "",     "-",     ".",           "1.",          ".5",          "-.5",          "1e5",   "1E5",
      "+1",   " 1",    "1 ",          "1. 5",        "1..2",        "1.2.3",        "abc",   "1,5",
      "0x10", "1_000", "--1",         "1-",          "1.-5",        "\t1",          "1.5\n", "١",
      "inf",  "nan",   "1.000000000", "1.123456789", "0.000000001", "1.0000000000",
  };
  for (const char* text : cases) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(Decimal::parse(text).has_value());
    EXPECT_FALSE(Decimal::parse(text, /*allow_negative=*/true).has_value());
  }
  // An embedded NUL is not a terminator.
  EXPECT_FALSE(Decimal::parse(std::string_view("1\0", 2)).has_value());
}

TEST(DecimalParse, NegativesOnlyWhenAllowed) {
  EXPECT_FALSE(Decimal::parse("-1").has_value());
  EXPECT_FALSE(Decimal::parse("-0").has_value());  // the sign itself is refused
  EXPECT_FALSE(Decimal::parse("-0.5").has_value());

  EXPECT_EQ(Decimal::parse("-1", true)->mantissa(), -Decimal::kOne);
  EXPECT_EQ(Decimal::parse("-0", true)->mantissa(), 0);
  EXPECT_EQ(Decimal::parse("-0", true)->to_string(), "0");  // no negative zero
  EXPECT_EQ(Decimal::parse("-0.00", true)->to_string(), "0");
  EXPECT_EQ(Decimal::parse("-0.5", true)->to_string(), "-0.5");
  EXPECT_EQ(Decimal::parse("-00012.10", true)->to_string(), "-12.1");
  EXPECT_EQ(Decimal::parse("-0.00000001", true)->mantissa(), -1);
}

TEST(DecimalParse, OverflowLimits) {
  // Largest positive mantissa, and one past it, in every digit position that can overflow.
  EXPECT_EQ(Decimal::parse("92233720368.54775807")->mantissa(), kMax);
  EXPECT_FALSE(Decimal::parse("92233720368.54775808").has_value());
  EXPECT_FALSE(Decimal::parse("92233720368.5477581").has_value());
  EXPECT_FALSE(Decimal::parse("92233720369").has_value());
  EXPECT_FALSE(Decimal::parse("100000000000").has_value());
  EXPECT_FALSE(Decimal::parse("99999999999999999999999999999999999999999999999999").has_value());
  EXPECT_FALSE(Decimal::parse("184467440737.09551616").has_value());  // 2^64 as a mantissa
  // Leading zeros do not count towards overflow.
  EXPECT_EQ(Decimal::parse("0000000000000000000092233720368.54775807")->mantissa(), kMax);

  // The most negative mantissa has no positive twin and still parses and prints.
  const auto min = Decimal::parse("-92233720368.54775808", true);
  ASSERT_TRUE(min.has_value());
  EXPECT_EQ(min->mantissa(), kMin);
  EXPECT_EQ(min->to_string(), "-92233720368.54775808");
  EXPECT_FALSE(Decimal::parse("-92233720368.54775809", true).has_value());
  EXPECT_FALSE(Decimal::parse("-92233720369", true).has_value());
}

TEST(DecimalFormat, ShortestExactForm) {
  struct Case {
    std::int64_t mantissa;
    const char* text;
  };
  const Case cases[] = {
      {0, "0"},
      {1, "0.00000001"},
      {-1, "-0.00000001"},
      {10, "0.0000001"},
      {Decimal::kOne, "1"},
      {100 * Decimal::kOne, "100"},
      {18'725'000'000, "187.25"},
      {-50'000'000, "-0.5"},
      {Decimal::kOne + 1, "1.00000001"},
      {kMax, "92233720368.54775807"},
      {kMin, "-92233720368.54775808"},
      {kMin + 1, "-92233720368.54775807"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Decimal::from_mantissa(c.mantissa).to_string(), c.text);
  }
}

TEST(DecimalFormat, RoundTripsThroughParse) {
  // A deterministic spread of mantissas, including both signs and every digit length.
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const auto m = static_cast<std::int64_t>(x >> (i % 64));
    const Decimal d = Decimal::from_mantissa(i % 2 == 0 ? m : -m);
    const auto back = Decimal::parse(d.to_string(), /*allow_negative=*/true);
    ASSERT_TRUE(back.has_value()) << d.to_string();
    ASSERT_EQ(*back, d) << d.to_string();
  }
}

TEST(Decimal, ArithmeticAndOrdering) {
  EXPECT_EQ(Decimal::from_units(3).mantissa(), 3 * Decimal::kOne);
  EXPECT_EQ((Decimal::from_units(3) - Decimal::from_units(5)).to_string(), "-2");
  EXPECT_EQ((*Decimal::parse("0.1") + *Decimal::parse("0.2")).to_string(), "0.3");
  EXPECT_LT(*Decimal::parse("0.99999999"), Decimal::from_units(1));
  EXPECT_EQ(*Decimal::parse("100"), *Decimal::parse("100.0"));
  EXPECT_TRUE(Decimal().is_zero());
  EXPECT_FALSE(Decimal::from_mantissa(-1).is_positive());
  EXPECT_TRUE(Decimal::from_mantissa(1).is_positive());
  EXPECT_LT(Qty{Decimal::from_units(1)}, Qty{Decimal::from_units(2)});
  EXPECT_EQ(Price{Decimal::from_units(2)}, Price{*Decimal::parse("2.00")});
}

TEST(Notional, ExactProductAtDoubleScale) {
  EXPECT_EQ(notional_of(qty(0), price(18'725'000'000)), 0);
  // 100 * 187.25 = 18725, at scale 16.
  EXPECT_EQ(notional_to_string(
                notional_of(Qty{Decimal::from_units(100)}, Price{*Decimal::parse("187.25")})),
            "187250000000000000000");
  EXPECT_EQ(notional_of(qty(1), price(1)), 1);
  // The largest product of two mantissas fits 128 bits exactly.
  const Notional big = notional_of(qty(kMax), price(kMax));
  EXPECT_EQ(notional_to_string(big), "85070591730234615847396907784232501249");
  EXPECT_EQ(big / kMax, kMax);
}

TEST(AveragePrice, ZeroQuantityIsZero) {
  EXPECT_EQ(average_price(0, qty(0)), Price{});
  EXPECT_EQ(average_price(12345, qty(0)), Price{});
}

TEST(AveragePrice, ExactAndRoundedHalfUp) {
  const Qty one{Decimal::from_units(1)};
  const Qty two{Decimal::from_units(2)};
  const Qty three{Decimal::from_units(3)};
  // 1 @ 1 + 2 @ 2 = 5 over 3 = 1.666666666... -> 1.66666667 (up).
  EXPECT_EQ(average_price(notional_of(one, Price{Decimal::from_units(1)}) +
                              notional_of(two, Price{Decimal::from_units(2)}),
                          three)
                .value.to_string(),
            "1.66666667");
  // 2 @ 1 + 1 @ 2 = 4 over 3 = 1.333333333... -> 1.33333333 (down).
  EXPECT_EQ(average_price(notional_of(two, Price{Decimal::from_units(1)}) +
                              notional_of(one, Price{Decimal::from_units(2)}),
                          three)
                .value.to_string(),
            "1.33333333");
  // Exactly half a unit in the last place: 1 @ 0.00000001 + 1 @ 0 = 0.000000005 -> up.
  EXPECT_EQ(average_price(notional_of(one, price(1)), two).value.mantissa(), 1);
  // Just under half: 1 @ 0.00000001 over 3 -> down to 0.
  EXPECT_EQ(average_price(notional_of(one, price(1)), three).value.mantissa(), 0);
  // Just over half: 2 @ 0.00000001 over 3 -> up.
  EXPECT_EQ(average_price(notional_of(two, price(1)), three).value.mantissa(), 1);
  // Exact: 30 @ 100.10 + 50 @ 100.20 + 20 @ 100.35 = 10020 over 100 = 100.2.
  const Notional n = notional_of(Qty{Decimal::from_units(30)}, Price{*Decimal::parse("100.10")}) +
                     notional_of(Qty{Decimal::from_units(50)}, Price{*Decimal::parse("100.20")}) +
                     notional_of(Qty{Decimal::from_units(20)}, Price{*Decimal::parse("100.35")});
  EXPECT_EQ(average_price(n, Qty{Decimal::from_units(100)}).value.to_string(), "100.2");
}

TEST(AveragePrice, HalfUpRoundsAwayFromZeroForNegatives) {
  EXPECT_EQ(average_price(-notional_of(qty(Decimal::kOne), price(1)), qty(2 * Decimal::kOne))
                .value.mantissa(),
            -1);
  EXPECT_EQ(average_price(-notional_of(qty(Decimal::kOne), price(1)), qty(3 * Decimal::kOne))
                .value.mantissa(),
            0);
}

TEST(AveragePrice, ExtremesStayExact) {
  EXPECT_EQ(average_price(notional_of(qty(kMax), price(kMax)), qty(kMax)), price(kMax));
  EXPECT_EQ(average_price(notional_of(qty(1), price(kMax)), qty(1)), price(kMax));
  EXPECT_EQ(average_price(notional_of(qty(kMax), price(1)), qty(kMax)), price(1));
}

TEST(AveragePriceDeathTest, AbortsWhenNoPriceCanRepresentIt) {
  const Notional impossible = static_cast<Notional>(kMax) * 4;
  EXPECT_DEATH(average_price(impossible, qty(1)), "average_price out of range");
}

TEST(NotionalString, FormatsRawValue) {
  const Notional max = static_cast<Notional>((static_cast<unsigned __int128>(1) << 127) - 1);
  const Notional min = -max - 1;
  EXPECT_EQ(notional_to_string(0), "0");
  EXPECT_EQ(notional_to_string(1), "1");
  EXPECT_EQ(notional_to_string(-1), "-1");
  EXPECT_EQ(notional_to_string(max), "170141183460469231731687303715884105727");
  EXPECT_EQ(notional_to_string(min), "-170141183460469231731687303715884105728");
}

TEST(NotionalString, ParsesStrictly) {
  const Notional max = static_cast<Notional>((static_cast<unsigned __int128>(1) << 127) - 1);
  const Notional min = -max - 1;
  EXPECT_EQ(notional_from_string("0"), Notional{0});
  EXPECT_EQ(notional_from_string("-0"), Notional{0});
  EXPECT_EQ(notional_from_string("007"), Notional{7});
  EXPECT_EQ(notional_from_string("-42"), Notional{-42});
  EXPECT_EQ(notional_from_string("170141183460469231731687303715884105727"), max);
  EXPECT_EQ(notional_from_string("-170141183460469231731687303715884105728"), min);
  EXPECT_FALSE(notional_from_string("170141183460469231731687303715884105728").has_value());
  EXPECT_FALSE(notional_from_string("-170141183460469231731687303715884105729").has_value());
  EXPECT_FALSE(notional_from_string("999999999999999999999999999999999999999999").has_value());
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "1.0", "1e3", "--1", "0x1", "1-"}) {
    EXPECT_FALSE(notional_from_string(bad).has_value()) << bad;
  }
}

TEST(NotionalString, RoundTrips) {
  const Notional values[] = {
      0,
      1,
      -1,
      notional_of(qty(kMax), price(kMax)),
      -notional_of(qty(kMax), price(kMax)),
      notional_of(Qty{Decimal::from_units(100)}, Price{*Decimal::parse("187.25")}),
  };
  for (Notional v : values) {
    const std::string s = notional_to_string(v);
    ASSERT_EQ(notional_from_string(s), v) << s;
  }
}

}  // namespace
}  // namespace brokergw::core
