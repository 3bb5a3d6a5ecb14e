// Fixed-point parsing and formatting; see decimal.h for the accepted grammar.
#include "gateway/core/decimal.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace brokergw::core {
namespace {

using U128 = unsigned __int128;

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Magnitude of the most negative value of a signed type, as unsigned (it has no positive twin).
constexpr U128 kInt64NegLimit = U128{1} << 63;
constexpr U128 kInt64PosLimit = kInt64NegLimit - 1;
constexpr U128 kInt128NegLimit = U128{1} << 127;
constexpr U128 kInt128PosLimit = kInt128NegLimit - 1;

// Writes the decimal digits of `v` into the end of `buf`; returns the index of the first digit.
// 40 characters hold any 128-bit magnitude (39 digits).
template <std::size_t N>
std::size_t write_digits(U128 v, char (&buf)[N]) {
  std::size_t pos = N;
  do {
    buf[--pos] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  return pos;
}

// Parses "[-]digits" into a magnitude no larger than the limit for its sign.
std::optional<std::pair<bool, U128>> parse_integer(std::string_view text, U128 pos_limit,
                                                   U128 neg_limit) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    negative = true;
    text.remove_prefix(1);
  }
  if (text.empty()) return std::nullopt;
  const U128 limit = negative ? neg_limit : pos_limit;
  U128 value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    // value <= 2^127 here, so value * 10 + 9 cannot wrap 128 unsigned bits.
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > limit) return std::nullopt;
  }
  return std::pair{negative, value};
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view text, bool allow_negative) {
  bool negative = false;
  if (!text.empty() && text.front() == '-') {
    if (!allow_negative) return std::nullopt;
    negative = true;
    text.remove_prefix(1);
  }
  const std::size_t dot = text.find('.');
  const std::string_view int_part = text.substr(0, dot);
  const std::string_view frac_part =
      dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
  if (int_part.empty()) return std::nullopt;                                    // ".5", "-"
  if (dot != std::string_view::npos && frac_part.empty()) return std::nullopt;  // "1."
  if (frac_part.size() > static_cast<std::size_t>(kScale)) return std::nullopt;

  const U128 limit = negative ? kInt64NegLimit : kInt64PosLimit;
  U128 units = 0;
  for (char c : int_part) {
    if (!is_digit(c)) return std::nullopt;
    units = units * 10 + static_cast<unsigned>(c - '0');
    if (units > limit) return std::nullopt;  // early exit keeps `units` small; checked below
  }
  U128 frac = 0;
  for (char c : frac_part) {
    if (!is_digit(c)) return std::nullopt;
    frac = frac * 10 + static_cast<unsigned>(c - '0');
  }
  for (std::size_t i = frac_part.size(); i < static_cast<std::size_t>(kScale); ++i) frac *= 10;

  const U128 magnitude = units * static_cast<U128>(kOne) + frac;
  if (magnitude > limit) return std::nullopt;
  // Negate in unsigned arithmetic so that the most negative mantissa does not overflow.
  const auto bits = static_cast<std::uint64_t>(magnitude);
  return Decimal(static_cast<std::int64_t>(negative ? 0 - bits : bits));
}

std::string Decimal::to_string() const {
  const bool negative = mantissa_ < 0;
  const std::uint64_t bits = static_cast<std::uint64_t>(mantissa_);
  const std::uint64_t magnitude = negative ? 0 - bits : bits;
  const auto one = static_cast<std::uint64_t>(kOne);

  char buf[40];
  std::size_t pos = write_digits(magnitude / one, buf);
  std::string out;
  if (negative) out.push_back('-');
  out.append(buf + pos, buf + sizeof buf);

  std::uint64_t frac = magnitude % one;
  if (frac != 0) {
    char digits[kScale];
    for (int i = kScale - 1; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + frac % 10);
      frac /= 10;
    }
    int len = kScale;
    while (digits[len - 1] == '0') --len;  // shortest exact form
    out.push_back('.');
    out.append(digits, digits + len);
  }
  return out;
}

Notional notional_of(Qty qty, Price px) {
  return static_cast<Notional>(qty.value.mantissa()) * px.value.mantissa();
}

Price average_price(Notional notional, Qty qty) {
  const std::int64_t q = qty.value.mantissa();
  if (q == 0) return Price{};
  // Work on magnitudes; "half-up" rounds halves away from zero (as Java's HALF_UP does).
  const bool negative = (notional < 0) != (q < 0);
  const U128 n_abs = notional < 0 ? 0 - static_cast<U128>(notional) : static_cast<U128>(notional);
  const U128 q_abs =
      q < 0 ? 0 - static_cast<U128>(static_cast<std::uint64_t>(q)) : static_cast<U128>(q);
  // Notional has scale 2*kScale and qty kScale, so the quotient already has scale kScale.
  U128 quotient = n_abs / q_abs;
  const U128 remainder = n_abs % q_abs;
  if (remainder >= q_abs - remainder) ++quotient;  // 2*remainder >= q without overflow
  if (quotient > (negative ? kInt64NegLimit : kInt64PosLimit)) {
    // Only reachable with a notional that no set of fills of `qty` could produce.
    std::fprintf(stderr, "brokergw: average_price out of range (notional %s, qty %s)\n",
                 notional_to_string(notional).c_str(), qty.value.to_string().c_str());
    std::abort();
  }
  const auto bits = static_cast<std::uint64_t>(quotient);
  return Price{Decimal::from_mantissa(static_cast<std::int64_t>(negative ? 0 - bits : bits))};
}

std::string notional_to_string(Notional n) {
  const bool negative = n < 0;
  const U128 magnitude = negative ? 0 - static_cast<U128>(n) : static_cast<U128>(n);
  char buf[40];
  const std::size_t pos = write_digits(magnitude, buf);
  std::string out;
  if (negative) out.push_back('-');
  out.append(buf + pos, buf + sizeof buf);
  return out;
}

std::optional<Notional> notional_from_string(std::string_view text) {
  const auto parsed = parse_integer(text, kInt128PosLimit, kInt128NegLimit);
  if (!parsed) return std::nullopt;
  const auto [negative, magnitude] = *parsed;
  return static_cast<Notional>(negative ? 0 - magnitude : magnitude);
}

}  // namespace brokergw::core
