// Exact decimals for the simulator's quantities and prices. Owns parsing and formatting of the
// decimal strings the simulator reads from FIX messages and its config and writes into
// execution reports. Pure, no I/O, thread-agnostic. Never uses floating point.
//
// The simulator deliberately does not use gateway/core/decimal.h: it plays the broker and must
// not share code (and bugs) with the system it tests.
//
// Invariant: the value is mantissa * 10^-kScale with kScale = 8; the mantissa fits int64 (about
// 9.2e10 units). Arithmetic that could overflow is checked and returns nullopt.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace brokergw::sim {

class Fixed {
 public:
  static constexpr int kScale = 8;
  static constexpr std::int64_t kOne = 100'000'000;  // 10^kScale

  constexpr Fixed() = default;
  static constexpr Fixed from_mantissa(std::int64_t m) { return Fixed(m); }
  static constexpr Fixed from_units(std::int64_t units) { return Fixed(units * kOne); }

  // Accepts "123", "123.45", "0.00000001", "007.10"; at most kScale fraction digits; a leading
  // '-' only when allow_negative. Rejects exponents, '+', spaces, empty parts ("1.", ".5"),
  // more than kScale fraction digits and anything that overflows the mantissa.
  static std::optional<Fixed> parse(std::string_view text, bool allow_negative = false);

  // Shortest exact form: "100", "187.25", "-0.5", "0".
  std::string to_string() const;

  constexpr std::int64_t mantissa() const { return mantissa_; }
  constexpr bool is_zero() const { return mantissa_ == 0; }
  constexpr bool is_positive() const { return mantissa_ > 0; }
  // Number of fraction digits in to_string(): 0 for "100", 2 for "187.25".
  int fraction_digits() const;

  friend constexpr auto operator<=>(Fixed, Fixed) = default;

 private:
  constexpr explicit Fixed(std::int64_t m) : mantissa_(m) {}
  std::int64_t mantissa_ = 0;
};

std::optional<Fixed> checked_add(Fixed a, Fixed b);
std::optional<Fixed> checked_sub(Fixed a, Fixed b);
std::optional<Fixed> checked_mul(Fixed a, std::int64_t factor);

// Sum of qty * price, exact, at scale 2 * kScale.
using Notional = __int128;
Notional notional_of(Fixed qty, Fixed price);
// notional / qty rounded half away from zero to kScale digits; zero for a zero quantity.
// Precondition: the result fits Fixed (true for any average of Fixed prices).
Fixed average_price(Notional notional, Fixed qty);

}  // namespace brokergw::sim
