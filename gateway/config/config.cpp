// The configuration key table and the loader that checks a TOML file against it.
//
// The table below is the single source of truth for names, types, ranges, defaults and docs:
// the loader walks it, and configuration_reference_markdown() renders it. Adding a key means
// adding one row here and one field in config.h; docs/CONFIGURATION.md is then regenerated
// (the unit test says how) and a test fails until it is.
//
// Runs on the main thread at start-up; nothing here is shared or cached across calls except
// the immutable tables.
#include "gateway/config/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <toml++/toml.h>

namespace brokergw::config {
namespace {

namespace fs = std::filesystem;

// A config file larger than this is surely not a config file; refuse before parsing.
constexpr std::uintmax_t kMaxConfigBytes = 1024 * 1024;

enum class KeyType { kString, kInteger, kBool, kPath };

enum class Presence {
  kRequired,  // no default; the key must be present
  kDefault,   // absent -> the default below
  kOptional,  // absent -> the field stays empty ("unset")
};

// What a path must point to at load time. Existence is checked only where the file is read
// at start-up anyway, so a missing secret fails the load instead of the first logon.
enum class PathCheck { kNone, kReadableFile, kNonEmptyFile };

struct Value {
  std::string text;  // strings; paths already made absolute
  std::int64_t integer = 0;
  bool boolean = false;
};

// Returns true when `s` is acceptable; the key's `allowed_doc` says what is.
using StringCheck = bool (*)(std::string_view s);

template <class Target>
struct KeySpec {
  std::string_view name;  // key inside its table
  KeyType type = KeyType::kString;
  Presence presence = Presence::kDefault;
  std::string_view default_text;  // string, path and bool defaults, as written in TOML
  std::int64_t default_int = 0;
  std::int64_t min = 0;  // integers: inclusive range
  std::int64_t max = 0;
  std::vector<std::string_view> allowed;  // strings: the only accepted values, when non-empty
  StringCheck check = nullptr;            // strings: a rule beyond `allowed`
  std::string_view allowed_doc;           // the rule of `check`, as the reference shows it
  PathCheck path_check = PathCheck::kNone;
  std::string_view doc;
  void (*apply)(Target&, const Value&) = nullptr;
};

template <class Target>
struct Section {
  std::string_view name;  // "gateway"; the broker section is "brokers.<name>"
  std::string_view doc;
  std::vector<KeySpec<Target>> keys;
};

// ---- Value rules ----------------------------------------------------------------------------

bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

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

// ---- The key table --------------------------------------------------------------------------

const std::vector<Section<Config>>& global_sections() {
  static const std::vector<Section<Config>> sections = {
      {.name = "gateway",
       .doc = "Identity of this gateway instance and where it keeps its state.",
       .keys =
           {
               {.name = "instance_id",
                .type = KeyType::kString,
                .presence = Presence::kRequired,
                .check = is_instance_id,
                .allowed_doc = "`[A-Za-z0-9_-]{1,32}`",
                .doc = "Unique name of this gateway instance.",
                .apply = [](Config& c, const Value& v) { c.instance_id = v.text; }},
               {.name = "state_dir",
                .type = KeyType::kPath,
                .default_text = "/var/lib/brokergw",
                .doc = "Directory of the LMDB store and FIX session files.",
                .apply = [](Config& c, const Value& v) { c.state_dir = v.text; }},
               {.name = "log_level",
                .default_text = "info",
                .allowed = {"trace", "debug", "info", "warn", "error"},
                .doc = "Least severe log level written.",
                .apply = [](Config& c, const Value& v) { c.log_level = v.text; }},
           }},
      {.name = "api",
       .doc = "The internal order API (HTTP/JSON) that trading clients call.",
       .keys =
           {
               {.name = "listen_address",
                .default_text = "127.0.0.1",
                .check = is_ip_literal,
                .allowed_doc = "literal IPv4 or IPv6 address",
                .doc = "Address the API listens on; a host name is refused so the bind "
                       "never depends on DNS.",
                .apply = [](Config& c, const Value& v) { c.api_listen_address = v.text; }},
               {.name = "listen_port",
                .type = KeyType::kInteger,
                .default_int = 8080,
                .min = 1,
                .max = 65535,
                .doc = "TCP port the API listens on.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.api_listen_port = static_cast<std::uint16_t>(v.integer);
                    }},
               {.name = "threads",
                .type = KeyType::kInteger,
                .default_int = 32,
                .min = 1,
                .max = 1024,
                .doc = "Worker threads serving API requests.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.api_threads = static_cast<std::uint32_t>(v.integer);
                    }},
               {.name = "max_body_bytes",
                .type = KeyType::kInteger,
                .default_int = 65536,
                .min = 1024,
                .max = 1048576,
                .doc = "Largest request body the API accepts.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.api_max_body_bytes = static_cast<std::uint32_t>(v.integer);
                    }},
               {.name = "token_file",
                .type = KeyType::kPath,
                .presence = Presence::kOptional,
                .path_check = PathCheck::kNonEmptyFile,
                .doc = "File holding the bearer token clients must send. Must exist and be "
                       "non-empty when set. When unset, clients are not authenticated.",
                .apply = [](Config& c, const Value& v) { c.api_token_file = v.text; }},
           }},
      {.name = "store",
       .doc = "The LMDB store of orders, executions, the event outbox and FIX sessions.",
       .keys =
           {
               {.name = "map_size_mb",
                .type = KeyType::kInteger,
                .default_int = 1024,
                .min = 16,
                .max = 1048576,
                .doc = "LMDB map size in MiB: the most the store can ever hold.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.store_map_size_mb = static_cast<std::uint64_t>(v.integer);
                    }},
               {.name = "max_batch",
                .type = KeyType::kInteger,
                .default_int = 512,
                .min = 1,
                .max = 65536,
                .doc = "Most writes grouped into one store transaction.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.store_max_batch = static_cast<std::uint32_t>(v.integer);
                    }},
           }},
      {.name = "events",
       .doc = "Execution events: the journal every broker report becomes, its retention "
              "and the outbox bound.",
       .keys =
           {
               {.name = "retention_hours",
                .type = KeyType::kInteger,
                .default_int = 168,
                .min = 1,
                .max = 87600,
                .doc = "Events older than this are deleted once published (never before).",
                .apply =
                    [](Config& c, const Value& v) {
                      c.events_retention_hours = static_cast<std::uint32_t>(v.integer);
                    }},
               {.name = "dedup_retention_hours",
                .type = KeyType::kInteger,
                .default_int = 720,
                .min = 1,
                .max = 87600,
                .doc = "How long a broker's execution id is remembered for de-duplication. "
                       "Keep it longer than any broker could resend a report.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.events_dedup_retention_hours = static_cast<std::uint32_t>(v.integer);
                    }},
               {.name = "max_outbox",
                .type = KeyType::kInteger,
                .default_int = 1000000,
                .min = 1,
                .max = 1000000000,
                .doc = "Unpublished events above which the gateway reports itself not "
                       "ready (health, metric). Events are still stored: nothing is dropped.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.events_max_outbox = static_cast<std::uint64_t>(v.integer);
                    }},
           }},
      {.name = "kafka",
       .doc = "Kafka fan-out of execution events. Without `bootstrap_servers` events are "
              "only served by the polling API.",
       .keys =
           {
               {.name = "bootstrap_servers",
                .presence = Presence::kOptional,
                .check = is_host_list,
                .allowed_doc = "comma-separated host:port list",
                .doc = "Kafka bootstrap servers. Unset: Kafka publishing is off.",
                .apply = [](Config& c, const Value& v) { c.kafka_bootstrap_servers = v.text; }},
               {.name = "topic",
                .default_text = "brokergw.events",
                .check = is_topic_name,
                .allowed_doc = "1 to 249 of `A-Z a-z 0-9 . _ -`",
                .doc = "Topic the events are published to.",
                .apply = [](Config& c, const Value& v) { c.kafka_topic = v.text; }},
               {.name = "client_id",
                .default_text = "brokergw",
                .check = is_topic_name,
                .allowed_doc = "1 to 249 of `A-Z a-z 0-9 . _ -`",
                .doc = "Kafka client.id of the producer.",
                .apply = [](Config& c, const Value& v) { c.kafka_client_id = v.text; }},
               {.name = "linger_ms",
                .type = KeyType::kInteger,
                .default_int = 5,
                .min = 0,
                .max = 1000,
                .doc = "How long the producer waits to batch events (latency vs. throughput).",
                .apply =
                    [](Config& c, const Value& v) {
                      c.kafka_linger_ms = static_cast<std::uint32_t>(v.integer);
                    }},
               {.name = "queue_max_messages",
                .type = KeyType::kInteger,
                .default_int = 100000,
                .min = 1000,
                .max = 10000000,
                .doc = "Events the producer holds in memory at most; the rest wait in the store.",
                .apply =
                    [](Config& c, const Value& v) {
                      c.kafka_queue_max_messages = static_cast<std::uint32_t>(v.integer);
                    }},
           }},
  };
  return sections;
}

const Section<BrokerConfig>& broker_section() {
  static const Section<BrokerConfig> section = {
      .name = "brokers.<name>",
      .doc =
          "One table per broker. `<name>` is 1 to 32 characters of `a-z 0-9 _ -` and is "
          "the `broker` value clients send on the internal API. At least one broker is "
          "required. Keys are named `brokers.<name>.<key>` in errors.",
      .keys = {
          {.name = "type",
           .presence = Presence::kRequired,
           .allowed = {"fix"},
           .doc = "Adapter that talks to this broker.",
           .apply = [](BrokerConfig& b, const Value& v) { b.type = v.text; }},
          {.name = "host",
           .presence = Presence::kRequired,
           .check = is_host,
           .allowed_doc = "host name or IP address",
           .doc = "Broker host to connect to.",
           .apply = [](BrokerConfig& b, const Value& v) { b.host = v.text; }},
          {.name = "port",
           .type = KeyType::kInteger,
           .presence = Presence::kRequired,
           .min = 1,
           .max = 65535,
           .doc = "Broker TCP port.",
           .apply = [](BrokerConfig& b,
                       const Value& v) { b.port = static_cast<std::uint16_t>(v.integer); }},
          {.name = "fix_version",
           .default_text = "FIX.4.4",
           .allowed = {"FIX.4.4", "FIX.4.2"},
           .doc = "FIX BeginString (8) of the session.",
           .apply = [](BrokerConfig& b, const Value& v) { b.fix_version = v.text; }},
          {.name = "sender_comp_id",
           .presence = Presence::kRequired,
           .check = is_fix_token,
           .allowed_doc = "1 to 64 printable ASCII characters, no spaces",
           .doc = "Our SenderCompID (49).",
           .apply = [](BrokerConfig& b, const Value& v) { b.sender_comp_id = v.text; }},
          {.name = "target_comp_id",
           .presence = Presence::kRequired,
           .check = is_fix_token,
           .allowed_doc = "1 to 64 printable ASCII characters, no spaces",
           .doc = "The broker's TargetCompID (56).",
           .apply = [](BrokerConfig& b, const Value& v) { b.target_comp_id = v.text; }},
          {.name = "data_dictionary",
           .type = KeyType::kPath,
           .presence = Presence::kRequired,
           .doc = "The broker's FIX dialect, e.g. `fixspec/FIX44.brokergw.xml` of the "
                  "repository or install. Read and checked by the FIX adapter at start-up.",
           .apply = [](BrokerConfig& b, const Value& v) { b.data_dictionary = v.text; }},
          {.name = "heartbeat_interval_s",
           .type = KeyType::kInteger,
           .default_int = 30,
           .min = 1,
           .max = 300,
           .doc = "FIX HeartBtInt (108) in seconds.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.heartbeat_interval_s = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "reconnect_interval_s",
           .type = KeyType::kInteger,
           .default_int = 5,
           .min = 1,
           .max = 3600,
           .doc = "Seconds between connection attempts while the session is down.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.reconnect_interval_s = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "queue_capacity",
           .type = KeyType::kInteger,
           .default_int = 10000,
           .min = 1,
           .max = 1000000,
           .doc = "Most orders waiting to be sent to this broker; the bound keeps a slow "
                  "broker from growing memory.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.queue_capacity = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "ack_timeout_ms",
           .type = KeyType::kInteger,
           .default_int = 30000,
           .min = 50,
           .max = 3600000,
           .doc = "How long a NewOrderSingle or cancel may go unanswered before the order "
                  "becomes `unknown_at_broker` (never failed, never done).",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.ack_timeout_ms = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "unknown_resolution",
           .default_text = "status_query",
           .allowed = {"status_query", "resend"},
           .doc = "How an unknown order is resolved: ask the broker by our ClOrdID "
                  "(OrderStatusRequest 35=H; the answer is adopted), or resend the same "
                  "ClOrdID with PossResend=Y. Never a new ClOrdID.",
           .apply = [](BrokerConfig& b, const Value& v) { b.unknown_resolution = v.text; }},
          {.name = "retry_base_ms",
           .type = KeyType::kInteger,
           .default_int = 60000,
           .min = 10,
           .max = 86400000,
           .doc = "First retry interval; attempt n waits base * 2^(n-1), with jitter, capped.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.retry_base_ms = static_cast<std::uint64_t>(v.integer);
               }},
          {.name = "retry_cap_ms",
           .type = KeyType::kInteger,
           .default_int = 480000,
           .min = 10,
           .max = 86400000,
           .doc = "Longest interval between two retries.",
           .apply = [](BrokerConfig& b,
                       const Value& v) { b.retry_cap_ms = static_cast<std::uint64_t>(v.integer); }},
          {.name = "retry_max_attempts",
           .type = KeyType::kInteger,
           .default_int = 4,
           .min = 1,
           .max = 100,
           .doc = "Resolution attempts before the order is flagged for an operator (it stays "
                  "`unknown_at_broker`).",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.retry_max_attempts = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "retry_jitter_pct",
           .type = KeyType::kInteger,
           .default_int = 10,
           .min = 0,
           .max = 50,
           .doc = "Random spread of each retry interval, in percent either way.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.retry_jitter_pct = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "max_messages_per_s",
           .type = KeyType::kInteger,
           .default_int = 0,
           .min = 0,
           .max = 1000000,
           .doc = "Send rate limit to this broker, as brokers impose one; 0 means no limit.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.max_messages_per_s = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "stale_order_age_ms",
           .type = KeyType::kInteger,
           .default_int = 300000,
           .min = 0,
           .max = 86400000,
           .doc =
               "An order still unsent this long after it was accepted (the session was "
               "down) is not sent blindly: it is resolved by status query first. 0: never stale.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.stale_order_age_ms = static_cast<std::uint64_t>(v.integer);
               }},
          {.name = "resolution_max_per_s",
           .type = KeyType::kInteger,
           .default_int = 50,
           .min = 0,
           .max = 100000,
           .doc = "Status requests and resends (resolution, and the queries after a logon) "
                  "per second to this broker, so resolving can never flood it; 0: no limit.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.resolution_max_per_s = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "resolution_max_in_flight",
           .type = KeyType::kInteger,
           .default_int = 500,
           .min = 0,
           .max = 1000000,
           .doc = "Status requests and resends awaiting an answer at once (one is released by "
                  "its answer or after `ack_timeout_ms`); 0: no limit.",
           .apply =
               [](BrokerConfig& b, const Value& v) {
                 b.resolution_max_in_flight = static_cast<std::uint32_t>(v.integer);
               }},
          {.name = "status_query_supported",
           .type = KeyType::kBool,
           .default_text = "true",
           .doc = "Whether the broker answers OrderStatusRequest (35=H) by our ClOrdID. When "
                  "false (or once the broker refuses one), unknown orders are resolved by "
                  "idempotent resend only, and nothing is asked after a logon.",
           .apply = [](BrokerConfig& b, const Value& v) { b.status_query_supported = v.boolean; }},
          {.name = "sequence_reset",
           .default_text = "never",
           .allowed = {"never", "on_logon", "daily"},
           .doc = "When FIX sequence numbers start again at 1: `never` (only by an operator, "
                  "see docs/RECOVERY.md), `on_logon` (every Logon carries ResetSeqNumFlag=Y), "
                  "or `daily` at `daily_reset_time`. A restart never resets them implicitly.",
           .apply = [](BrokerConfig& b, const Value& v) { b.sequence_reset = v.text; }},
          {.name = "daily_reset_time",
           .default_text = "00:00:00",
           .check = is_time_of_day,
           .allowed_doc = "`HH:MM:SS`, UTC",
           .doc = "With `sequence_reset = \"daily\"`: the UTC time at which the session ends "
                  "and a new one starts with sequence numbers reset.",
           .apply = [](BrokerConfig& b, const Value& v) { b.daily_reset_time = v.text; }},
          {.name = "query_on_reconnect",
           .type = KeyType::kBool,
           .default_text = "true",
           .doc = "After every logon, ask the broker for the status of each of its "
                  "non-terminal orders, so fills missed during an outage are recovered.",
           .apply = [](BrokerConfig& b, const Value& v) { b.query_on_reconnect = v.boolean; }},
          {.name = "username",
           .presence = Presence::kOptional,
           .check = is_fix_token,
           .allowed_doc = "1 to 64 printable ASCII characters, no spaces",
           .doc = "Logon Username (553), when the broker wants one.",
           .apply = [](BrokerConfig& b, const Value& v) { b.username = v.text; }},
          {.name = "password_file",
           .type = KeyType::kPath,
           .presence = Presence::kOptional,
           .path_check = PathCheck::kReadableFile,
           .doc = "File holding the Logon Password (554); must exist when set. Only the "
                  "path is kept; the password is read at logon and never logged.",
           .apply = [](BrokerConfig& b, const Value& v) { b.password_file = v.text; }},
      }};
  return section;
}

// ---- Loading --------------------------------------------------------------------------------

// Keys and values come from the file; keep them printable and short in messages.
std::string printable(std::string_view s, std::size_t max_len = 64) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i == max_len) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string quote_value(std::string_view s) { return "\"" + printable(s) + "\""; }

std::string_view type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

std::string join(const std::vector<std::string_view>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// "unknown key", with the nearest known name when the key looks like a typo of it.
std::string unknown_key_reason(std::string_view key, const std::vector<std::string_view>& known) {
  std::string_view best;
  std::size_t best_distance = 3;  // more than two edits away is not a typo
  if (key.size() <= 64) {
    for (const auto& candidate : known) {
      // A truncated name ("password" for "password_file") is as likely a slip as a typo.
      const bool prefix = key.size() >= 4 && candidate.starts_with(key);
      const std::size_t d = prefix ? 1 : edit_distance(key, candidate);
      if (d < best_distance) {
        best_distance = d;
        best = candidate;
      }
    }
  }
  std::string reason = "unknown key";
  if (!best.empty()) reason += " (did you mean \"" + std::string(best) + "\"?)";
  return reason;
}

class Loader {
 public:
  explicit Loader(fs::path base_dir) : base_dir_(std::move(base_dir)) {}

  tl::expected<Config, std::vector<ConfigError>> load(const toml::table& root) {
    Config config;
    std::vector<std::string_view> top_names{"brokers"};
    for (const auto& section : global_sections()) top_names.push_back(section.name);

    for (const auto& [key, node] : root) {
      if (std::find(top_names.begin(), top_names.end(), key.str()) == top_names.end()) {
        error(printable(key.str()), unknown_key_reason(key.str(), top_names));
      } else if (!node.is_table()) {
        error(printable(key.str()), "must be a table, got " + std::string(type_name(node.type())));
      }
    }
    for (const auto& section : global_sections()) {
      const toml::node* node = root.get(section.name);
      load_table(node ? node->as_table() : nullptr, std::string(section.name) + ".", section.keys,
                 config);
    }
    load_brokers(root.get("brokers"), config);

    if (!errors_.empty()) return tl::unexpected(std::move(errors_));
    return config;
  }

 private:
  void error(std::string key, std::string reason) {
    errors_.push_back(ConfigError{std::move(key), std::move(reason)});
  }

  void load_brokers(const toml::node* node, Config& config) {
    constexpr std::string_view kNone =
        "at least one broker is required: add a [brokers.<name>] table";
    if (node == nullptr) return error("brokers", std::string(kNone));
    const toml::table* brokers = node->as_table();
    if (brokers == nullptr) return;  // already reported as "must be a table"
    if (brokers->empty()) return error("brokers", std::string(kNone));

    // QuickFIX identifies a session by BeginString:Sender->Target; two brokers must not share.
    std::map<std::string, std::string> session_owner;
    for (const auto& [key, value] : *brokers) {
      const std::string name(key.str());
      const std::string prefix = "brokers." + printable(name);
      const bool name_ok = is_broker_name(name);
      if (!name_ok) error(prefix, "broker name must be 1 to 32 characters of a-z 0-9 _ -");
      const toml::table* table = value.as_table();
      if (table == nullptr) {
        error(prefix, "must be a table, got " + std::string(type_name(value.type())));
        continue;
      }
      BrokerConfig broker;
      broker.name = name;
      const std::size_t errors_before = errors_.size();
      load_table(table, prefix + ".", broker_section().keys, broker);
      if (!name_ok || errors_.size() != errors_before) continue;

      const std::string session =
          broker.fix_version + ":" + broker.sender_comp_id + "->" + broker.target_comp_id;
      const auto [it, inserted] = session_owner.emplace(session, name);
      if (!inserted) {
        error(prefix,
              "FIX session " + printable(session) + " is already used by broker " + it->second);
      }
      config.brokers.push_back(std::move(broker));
    }
  }

  template <class Target>
  void load_table(const toml::table* table, const std::string& prefix,
                  const std::vector<KeySpec<Target>>& specs, Target& target) {
    if (table != nullptr) {
      std::vector<std::string_view> known;
      for (const auto& spec : specs) known.push_back(spec.name);
      for (const auto& [key, node] : *table) {
        if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
          error(prefix + printable(key.str()), unknown_key_reason(key.str(), known));
        }
      }
    }
    for (const auto& spec : specs) {
      const std::string full = prefix + std::string(spec.name);
      const toml::node* node = table != nullptr ? table->get(spec.name) : nullptr;
      if (node == nullptr) {
        if (spec.presence == Presence::kRequired) {
          error(full, "is required");
        } else if (spec.presence == Presence::kDefault) {
          spec.apply(target, default_value(spec));
        }
        continue;
      }
      if (auto value = read_value(spec, *node, full)) spec.apply(target, *value);
    }
  }

  template <class Target>
  Value default_value(const KeySpec<Target>& spec) const {
    Value v;
    v.integer = spec.default_int;
    v.boolean = spec.default_text == "true";
    v.text = spec.type == KeyType::kPath ? absolute(spec.default_text) : spec.default_text;
    return v;
  }

  std::string absolute(std::string_view path) const {
    fs::path p = (base_dir_ / fs::path(path)).lexically_normal();
    if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "dir/" -> "dir"
    return p.string();
  }

  template <class Target>
  std::optional<Value> read_value(const KeySpec<Target>& spec, const toml::node& node,
                                  const std::string& full) {
    const std::string got = std::string(type_name(node.type()));
    Value v;
    switch (spec.type) {
      case KeyType::kInteger: {
        const auto* integer = node.as_integer();
        if (integer == nullptr) {
          error(full, "must be an integer, got " + got);
          return std::nullopt;
        }
        v.integer = integer->get();
        if (v.integer < spec.min || v.integer > spec.max) {
          error(full, "must be between " + std::to_string(spec.min) + " and " +
                          std::to_string(spec.max) + ", got " + std::to_string(v.integer));
          return std::nullopt;
        }
        return v;
      }
      case KeyType::kBool: {
        const auto* boolean = node.as_boolean();
        if (boolean == nullptr) {
          error(full, "must be true or false, got " + got);
          return std::nullopt;
        }
        v.boolean = boolean->get();
        return v;
      }
      case KeyType::kString:
      case KeyType::kPath:
        break;
    }
    const auto* string = node.as_string();
    if (string == nullptr) {
      error(full, "must be a string, got " + got);
      return std::nullopt;
    }
    const std::string& text = string->get();
    if (spec.type == KeyType::kPath) return read_path(spec, text, full);

    if (!spec.allowed.empty() &&
        std::find(spec.allowed.begin(), spec.allowed.end(), text) == spec.allowed.end()) {
      error(full, "must be one of " + join(spec.allowed, ", ") + ", got " + quote_value(text));
      return std::nullopt;
    }
    if (spec.check != nullptr && !spec.check(text)) {
      // allowed_doc is Markdown for the reference; messages read better without backticks.
      std::string rule(spec.allowed_doc);
      std::erase(rule, '`');
      error(full, "must be " + rule + ", got " + quote_value(text));
      return std::nullopt;
    }
    v.text = text;
    return v;
  }

  template <class Target>
  std::optional<Value> read_path(const KeySpec<Target>& spec, const std::string& text,
                                 const std::string& full) {
    if (text.empty()) {
      error(full, "must not be empty");
      return std::nullopt;
    }
    if (text.find('\0') != std::string::npos) {
      error(full, "must not contain NUL characters");
      return std::nullopt;
    }
    Value v;
    v.text = absolute(text);
    if (spec.path_check == PathCheck::kNone) return v;

    std::error_code ec;
    const auto status = fs::status(v.text, ec);
    if (!fs::exists(status)) {
      error(full, "file " + printable(v.text, 256) + " does not exist");
      return std::nullopt;
    }
    if (!fs::is_regular_file(status)) {
      error(full, printable(v.text, 256) + " is not a regular file");
      return std::nullopt;
    }
    // Opened only to prove the service can read it; the content (a secret) is not read.
    std::ifstream probe(v.text, std::ios::binary);
    if (!probe) {
      error(full, "file " + printable(v.text, 256) + " cannot be read: " + std::strerror(errno));
      return std::nullopt;
    }
    if (spec.path_check == PathCheck::kNonEmptyFile && fs::file_size(v.text, ec) == 0) {
      error(full, "file " + printable(v.text, 256) + " is empty");
      return std::nullopt;
    }
    return v;
  }

  fs::path base_dir_;
  std::vector<ConfigError> errors_;
};

tl::expected<Config, std::vector<ConfigError>> single_error(std::string reason) {
  return tl::unexpected(std::vector<ConfigError>{ConfigError{"", std::move(reason)}});
}

// ---- Reference ------------------------------------------------------------------------------

std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

template <class Target>
std::string default_cell(const KeySpec<Target>& spec) {
  switch (spec.presence) {
    case Presence::kRequired:
      return "required";
    case Presence::kOptional:
      return "unset";
    case Presence::kDefault:
      break;
  }
  switch (spec.type) {
    case KeyType::kInteger:
      return "`" + std::to_string(spec.default_int) + "`";
    case KeyType::kBool:
      return "`" + std::string(spec.default_text) + "`";
    case KeyType::kString:
    case KeyType::kPath:
      break;
  }
  return "`\"" + std::string(spec.default_text) + "\"`";
}

template <class Target>
std::string allowed_cell(const KeySpec<Target>& spec) {
  switch (spec.type) {
    case KeyType::kInteger:
      return std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case KeyType::kBool:
      return "`true`, `false`";
    case KeyType::kPath:
      switch (spec.path_check) {
        case PathCheck::kNone:
          return "any path";
        case PathCheck::kReadableFile:
          return "readable file";
        case PathCheck::kNonEmptyFile:
          return "readable, non-empty file";
      }
      return "";
    case KeyType::kString:
      break;
  }
  if (!spec.allowed.empty()) {
    std::string out;
    for (const auto& a : spec.allowed) {
      if (!out.empty()) out += ", ";
      out += "`" + std::string(a) + "`";
    }
    return out;
  }
  return spec.allowed_doc.empty() ? "any string" : std::string(spec.allowed_doc);
}

std::string_view type_cell(KeyType t) {
  switch (t) {
    case KeyType::kString:
      return "string";
    case KeyType::kInteger:
      return "integer";
    case KeyType::kBool:
      return "bool";
    case KeyType::kPath:
      return "path";
  }
  return "";
}

template <class Target>
void render_section(std::ostringstream& out, const Section<Target>& section) {
  out << "\n### `[" << section.name << "]`\n\n" << section.doc << "\n\n";
  out << "| Key | Type | Default | Allowed | Description |\n";
  out << "|---|---|---|---|---|\n";
  for (const auto& spec : section.keys) {
    out << "| `" << spec.name << "` | " << type_cell(spec.type) << " | " << cell(default_cell(spec))
        << " | " << cell(allowed_cell(spec)) << " | " << cell(spec.doc) << " |\n";
  }
}

}  // namespace

tl::expected<Config, std::vector<ConfigError>> load_config_string(const std::string& text,
                                                                  const std::string& base_dir) {
  std::error_code ec;
  const fs::path base = fs::absolute(base_dir.empty() ? "." : base_dir, ec);
  if (ec) return single_error("cannot resolve directory " + printable(base_dir, 256));

  toml::table root;
  try {
    root = toml::parse(std::string_view(text), std::string_view("config"));
  } catch (const toml::parse_error& e) {
    std::ostringstream reason;
    reason << "syntax error at line " << e.source().begin.line << ", column "
           << e.source().begin.column << ": " << e.description();
    return single_error(reason.str());
  }
  return Loader(base.lexically_normal()).load(root);
}

tl::expected<Config, std::vector<ConfigError>> load_config_file(const std::string& path) {
  std::error_code ec;
  const fs::path file = fs::absolute(path, ec).lexically_normal();
  if (ec) return single_error("cannot resolve config file path " + printable(path, 256));
  const std::string shown = printable(file.string(), 256);

  const auto size = fs::file_size(file, ec);
  if (ec) return single_error("cannot read config file " + shown + ": " + ec.message());
  if (size > kMaxConfigBytes) return single_error("config file " + shown + " is over 1 MiB");

  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return single_error("cannot read config file " + shown + ": " + std::strerror(errno));
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return single_error("cannot read config file " + shown);

  auto config = load_config_string(text, file.parent_path().string());
  if (config) config->config_path = file.string();
  return config;
}

std::string configuration_reference_markdown() {
  std::ostringstream out;
  out << "<!-- Do not edit: generated from the key table in gateway/config/config.cpp. -->\n";
  for (const auto& section : global_sections()) render_section(out, section);
  render_section(out, broker_section());
  return out.str();
}

}  // namespace brokergw::config
