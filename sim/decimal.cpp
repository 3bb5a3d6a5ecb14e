#include "sim/decimal.h"

#include <cstdlib>
#include <limits>

namespace brokergw::sim {

std::optional<Fixed> Fixed::parse(std::string_view text, bool allow_negative) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    if (!allow_negative) return std::nullopt;
    negative = true;
    text.remove_prefix(1);
  }
  const auto dot = text.find('.');
  const std::string_view whole = text.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (whole.empty()) return std::nullopt;
  if (dot != std::string_view::npos && frac.empty()) return std::nullopt;
  if (frac.size() > static_cast<std::size_t>(kScale)) return std::nullopt;

  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  std::int64_t m = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
    if (m > (kMax - (c - '0')) / 10) return std::nullopt;
    m = m * 10 + (c - '0');
  }
  for (int i = 0; i < kScale; ++i) {
    int digit = 0;
    if (i < static_cast<int>(frac.size())) {
      if (frac[i] < '0' || frac[i] > '9') return std::nullopt;
      digit = frac[i] - '0';
    }
    if (m > (kMax - digit) / 10) return std::nullopt;
    m = m * 10 + digit;
  }
  return Fixed(negative ? -m : m);
}

std::string Fixed::to_string() const {
  // Work on the magnitude in unsigned arithmetic so INT64_MIN cannot overflow.
  const bool negative = mantissa_ < 0;
  const std::uint64_t magnitude =
      negative ? ~static_cast<std::uint64_t>(mantissa_) + 1 : static_cast<std::uint64_t>(mantissa_);
  std::string out = negative ? "-" : "";
  out += std::to_string(magnitude / kOne);
  std::uint64_t frac = magnitude % kOne;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, kScale - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
    out += '.';
    out += digits;
  }
  return out;
}

int Fixed::fraction_digits() const {
  std::int64_t frac = std::llabs(mantissa_ % kOne);
  if (frac == 0) return 0;
  int digits = kScale;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  return digits;
}

std::optional<Fixed> checked_add(Fixed a, Fixed b) {
  std::int64_t r = 0;
  if (__builtin_add_overflow(a.mantissa(), b.mantissa(), &r)) return std::nullopt;
  return Fixed::from_mantissa(r);
}

std::optional<Fixed> checked_sub(Fixed a, Fixed b) {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(a.mantissa(), b.mantissa(), &r)) return std::nullopt;
  return Fixed::from_mantissa(r);
}

std::optional<Fixed> checked_mul(Fixed a, std::int64_t factor) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a.mantissa(), factor, &r)) return std::nullopt;
  return Fixed::from_mantissa(r);
}

Notional notional_of(Fixed qty, Fixed price) {
  return static_cast<Notional>(qty.mantissa()) * static_cast<Notional>(price.mantissa());
}

Fixed average_price(Notional notional, Fixed qty) {
  if (qty.is_zero()) return Fixed{};
  const Notional d = qty.mantissa();
  Notional q = notional / d;
  const Notional r = notional % d;
  // Half away from zero: compare twice the remainder with the divisor, in magnitudes.
  const Notional r2 = r < 0 ? -2 * r : 2 * r;
  const Notional dd = d < 0 ? -d : d;
  if (r2 >= dd) q += ((notional < 0) != (d < 0)) ? -1 : 1;
  return Fixed::from_mantissa(static_cast<std::int64_t>(q));
}

}  // namespace brokergw::sim
