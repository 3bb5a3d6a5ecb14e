// Text matching for sequence refusals (sequence_refusal.h). Case-insensitive, tolerant of
// punctuation and of the order of words; numbers are decimal, at most 9 digits.
#include "adapters/fix/sequence_refusal.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <string>

namespace brokergw::adapters::fix {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The first number after position `from` (skipping anything that is not a digit, but at most
// `reach` characters), or 0.
int number_after(const std::string& s, std::size_t from, std::size_t reach = 40) {
  std::size_t i = from;
  const std::size_t stop = std::min(s.size(), from + reach);
  while (i < stop && !std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i >= stop) return 0;
  long value = 0;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && digits < 10) {
    value = value * 10 + (s[i] - '0');
    ++i;
    ++digits;
  }
  if (digits == 0 || digits > 9) return 0;
  return static_cast<int>(value);
}

// The number following the first of `words` found in s (after its end), or 0.
int number_following(const std::string& s, std::initializer_list<std::string_view> words) {
  for (std::string_view w : words) {
    const auto at = s.find(w);
    if (at == std::string::npos) continue;
    if (int n = number_after(s, at + w.size()); n > 0) return n;
  }
  return 0;
}

std::optional<ParsedRefusal> parse(std::string_view text, RefusalSide side) {
  const std::string s = lower(text);
  const bool about_seq = s.find("seq") != std::string::npos;
  const bool too_low = s.find("too low") != std::string::npos ||
                       s.find("lower than expected") != std::string::npos ||
                       s.find("less than expected") != std::string::npos;
  const bool too_high = s.find("too high") != std::string::npos;
  if (!about_seq || too_high) return std::nullopt;
  const bool says_expected = s.find("expect") != std::string::npos;
  if (!too_low && !says_expected) return std::nullopt;
  ParsedRefusal r;
  r.side = side;
  r.expected = number_following(s, {"expecting", "expected", "expect"});
  r.received = number_following(s, {"received", "receiving", "got", "but was", "but"});
  if (r.expected < 1) return std::nullopt;
  // "too low" is what makes it a refusal; a text that only names an expected number must at
  // least show one below it.
  if (!too_low && !(r.received > 0 && r.received < r.expected)) return std::nullopt;
  return r;
}

}  // namespace

std::optional<ParsedRefusal> parse_refusal_event(std::string_view event_text) {
  // Only QuickFIX's own wording counts here: other events ("Received logout request", "MsgSeqNum
  // too high, expecting ...", resend notices) must never look like a refusal.
  const std::string s = lower(event_text);
  if (s.find("msgseqnum too low") == std::string::npos) return std::nullopt;
  return parse(event_text, RefusalSide::kTheirsTooLow);
}

std::optional<ParsedRefusal> parse_refusal_logout(std::string_view logout_text) {
  return parse(logout_text, RefusalSide::kOursTooLow);
}

}  // namespace brokergw::adapters::fix
