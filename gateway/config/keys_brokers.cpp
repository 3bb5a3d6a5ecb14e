// The key table of a [brokers.<name>] section: one row per broker key (name, type, range,
// default, doc and the BrokerConfig field it sets). The loader applies it to every broker
// table; docs/CONFIGURATION.md renders it once after the global sections.
//
// Threads: built on first use (the main thread at start-up); read-only afterwards.
//
// Invariants: key order is the order of errors and of the generated reference; every row has
// an `apply`; defaulted integers lie within [min, max]; secrets are only ever paths
// (password_file), never values.
#include <cstdint>
#include <vector>

#include "gateway/config/key_table.h"

namespace brokergw::config::detail {

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
          {.name = "dont_know_trade",
           .type = KeyType::kBool,
           .default_text = "false",
           .doc = "Answer an execution report for a ClOrdID the gateway does not have with "
                  "DontKnowTrade (35=Q, DKReason=D), for brokers whose rules of engagement ask "
                  "for it. Such a report is journaled as `order.unknown_report` either way.",
           .apply = [](BrokerConfig& b, const Value& v) { b.dont_know_trade = v.boolean; }},
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

}  // namespace brokergw::config::detail
