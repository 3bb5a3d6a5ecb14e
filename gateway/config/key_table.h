// Internal to gateway/config: the shape of the configuration key table (KeySpec, Section),
// the value rules its rows use, and the two tables themselves (keys_global.cpp,
// keys_brokers.cpp). The loader (loader.cpp) walks the tables; the reference generator
// (reference.cpp) renders them. Callers outside gateway/config use config.h only.
//
// Threads: none of its own; used on the main thread at start-up (loading, --print-config-doc).
//
// Invariants: the tables are built once (function-local statics) and immutable afterwards;
// every row has an `apply`; a defaulted integer row has min <= default <= max; a row's position
// is its order in the loader's error list and in docs/CONFIGURATION.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"

namespace brokergw::config::detail {

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

// ---- Value rules (value_rules.cpp) ------------------------------------------------------------

bool is_instance_id(std::string_view s);
bool is_broker_name(std::string_view s);
bool is_ip_literal(std::string_view s);
// Host names and IP literals: no spaces or control characters, at most a DNS name's length.
bool is_host(std::string_view s);
// FIX string fields must not contain SOH or other control characters.
bool is_fix_token(std::string_view s);
// "HH:MM:SS", 24-hour clock.
bool is_time_of_day(std::string_view s);
// Kafka topic and client id names.
bool is_topic_name(std::string_view s);
// "host:port[,host:port...]"
bool is_host_list(std::string_view s);

// ---- The key table ----------------------------------------------------------------------------

// [gateway], [api], [store], [events], [kafka], in this order (keys_global.cpp).
const std::vector<Section<Config>>& global_sections();
// [brokers.<name>], applied once per broker table (keys_brokers.cpp).
const Section<BrokerConfig>& broker_section();

}  // namespace brokergw::config::detail
