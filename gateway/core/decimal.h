// Fixed-point decimals for quantities and prices. Owns parsing and formatting of the decimal
// strings used on the internal API and in FIX. Pure, thread-agnostic, no allocation on the hot
// path except for formatting. Never uses floating point.
//
// Invariant: the value is mantissa * 10^-kScale with kScale = 8. The mantissa fits int64, so
// values up to about 9.2e10 are representable; anything larger is refused by parse().
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brokergw::core {

class Decimal {
 public:
  static constexpr int kScale = 8;
  static constexpr std::int64_t kOne = 100'000'000;  // 10^kScale

  constexpr Decimal() = default;
  static constexpr Decimal from_mantissa(std::int64_t m) { return Decimal(m); }
  static constexpr Decimal from_units(std::int64_t units) { return Decimal(units * kOne); }

  // Accepts "123", "123.45", "0.00000001"; at most kScale fraction digits; optional leading
  // '-' only when allow_negative. Rejects exponents, '+', spaces, empty parts ("1.", ".5"),
  // and anything that overflows the mantissa.
  static std::optional<Decimal> parse(std::string_view text, bool allow_negative = false);

  // Shortest exact form: "100", "187.25", "-0.5".
  std::string to_string() const;

  constexpr std::int64_t mantissa() const { return mantissa_; }
  constexpr bool is_zero() const { return mantissa_ == 0; }
  constexpr bool is_positive() const { return mantissa_ > 0; }

  friend constexpr auto operator<=>(Decimal, Decimal) = default;
  friend constexpr Decimal operator+(Decimal a, Decimal b) {
    return Decimal(a.mantissa_ + b.mantissa_);
  }
  friend constexpr Decimal operator-(Decimal a, Decimal b) {
    return Decimal(a.mantissa_ - b.mantissa_);
  }

 private:
  constexpr explicit Decimal(std::int64_t m) : mantissa_(m) {}
  std::int64_t mantissa_ = 0;
};

// Distinct types so a price can never be passed where a quantity is expected.
struct Qty {
  Decimal value;
  friend constexpr auto operator<=>(const Qty&, const Qty&) = default;
};
struct Price {
  Decimal value;
  friend constexpr auto operator<=>(const Price&, const Price&) = default;
};

// Notional = sum of qty * price, kept exactly in 128 bits at scale 2*kScale.
using Notional = __int128;
Notional notional_of(Qty qty, Price px);
// Volume-weighted average price of `notional` over `qty`, rounded half-up (halves away from
// zero) to kScale digits. Returns zero for a zero quantity. Aborts if the result cannot be a
// Price, which no notional built from fills of `qty` can cause.
Price average_price(Notional notional, Qty qty);
// The raw 128-bit value (scale 2*kScale) as a decimal integer, e.g. "187250000000000000000";
// from_string accepts exactly that form (optional '-', digits) and refuses overflow.
std::string notional_to_string(Notional n);
std::optional<Notional> notional_from_string(std::string_view text);

}  // namespace brokergw::core
