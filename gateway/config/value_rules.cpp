// The value rules of the configuration key table: the `check` functions of string keys
// (instance id, broker name, IP literal, host, FIX token, time of day, Kafka names, host list).
// Each rule's wording for humans is the `allowed_doc` of the rows that use it.
//
// Threads: pure functions, called on the main thread while a file is loaded.
//
// Invariants: no state, no allocation beyond a temporary copy for inet_pton; a rule accepts or
// refuses the whole string and never normalises it.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "gateway/config/key_table.h"

namespace brokergw::config::detail {
namespace {

bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool is_instance_id(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return is_alnum_ascii(c) || c == '_' || c == '-';
  });
}

bool is_broker_name(std::string_view s) {
  return !s.empty() && s.size() <= 32 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_ip_literal(std::string_view s) {
  const std::string text(s);
  in6_addr buf{};
  return inet_pton(AF_INET, text.c_str(), &buf) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &buf) == 1;
}

// Host names and IP literals: no spaces or control characters, at most a DNS name's length.
bool is_host(std::string_view s) {
  return !s.empty() && s.size() <= 253 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// FIX string fields must not contain SOH or other control characters.
bool is_fix_token(std::string_view s) {
  return !s.empty() && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

// "HH:MM:SS", 24-hour clock.
bool is_time_of_day(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  auto two = [&](std::size_t at, int max) {
    if (!std::isdigit(static_cast<unsigned char>(s[at])) ||
        !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
      return false;
    }
    return (s[at] - '0') * 10 + (s[at + 1] - '0') <= max;
  };
  return two(0, 23) && two(3, 59) && two(6, 59);
}

// Kafka topic and client id names.
bool is_topic_name(std::string_view s) {
  return !s.empty() && s.size() <= 249 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// "host:port[,host:port...]"
bool is_host_list(std::string_view s) {
  if (s.empty() || s.size() > 4096) return false;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view item = s.substr(start, end - start);
    std::size_t colon = item.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == item.size()) return false;
    if (!is_host(item.substr(0, colon))) return false;
    std::string_view port = item.substr(colon + 1);
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace brokergw::config::detail
