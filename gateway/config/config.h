// The gateway's configuration: one TOML file, validated against one table of keys
// (name, type, range, default, doc) in keys_global.cpp and keys_brokers.cpp. docs/CONFIGURATION.md
// is generated from that table (`brokergw --print-config-doc`) and a test checks the two agree.
//
// Loaded once at start-up on the main thread; read-only afterwards.
//
// Invariants of a loaded Config: every path is absolute (relative ones are resolved against the
// config file's directory); optional strings are empty when unset; brokers is non-empty and
// sorted by name; no secret is held, only the paths of the files that hold them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace brokergw::config {

struct BrokerConfig {
  std::string name;  // the [brokers.<name>] table name; the API's "broker" value
  std::string type;  // "fix"
  std::string host;  // loopback only in tests; any host in production
  std::uint16_t port = 0;
  std::string fix_version;  // "FIX.4.4"
  std::string sender_comp_id;
  std::string target_comp_id;
  std::string data_dictionary;  // absolute path of the broker's FIX dialect
  std::uint32_t heartbeat_interval_s = 30;
  std::uint32_t reconnect_interval_s = 5;
  std::uint32_t queue_capacity = 10000;             // orders waiting to be sent to this broker
  std::uint32_t ack_timeout_ms = 30000;             // unanswered longer: unknown_at_broker
  std::string unknown_resolution = "status_query";  // or "resend"
  std::uint64_t retry_base_ms = 60000;              // attempt n waits base * 2^(n-1)
  std::uint64_t retry_cap_ms = 480000;
  std::uint32_t retry_max_attempts = 4;
  std::uint32_t retry_jitter_pct = 10;
  std::uint32_t max_messages_per_s = 0;       // 0: unlimited
  std::uint64_t stale_order_age_ms = 300000;  // 0: never stale
  bool query_on_reconnect = true;
  std::uint32_t resolution_max_per_s = 50;       // status queries + resends per second
  std::uint32_t resolution_max_in_flight = 500;  // awaiting an answer at once
  bool status_query_supported = true;            // the broker answers 35=H
  bool dont_know_trade = false;                  // answer reports of unknown ClOrdIDs with 35=Q
  std::string sequence_reset = "never";          // never, on_logon, daily
  std::string daily_reset_time = "00:00:00";     // UTC, with sequence_reset = daily
  std::string username;                          // optional Logon Username (553)
  std::string password_file;  // optional file holding the Logon Password (554); never logged
};

struct Config {
  std::string config_path;         // absolute path of the file loaded; "" from load_config_string
  std::string instance_id;         // unique per gateway instance
  std::string state_dir;           // LMDB and FIX session files live here
  std::string log_level;           // trace, debug, info, warn, error
  std::string api_listen_address;  // must be a literal IP address
  std::uint16_t api_listen_port = 8080;
  std::uint32_t api_threads = 32;
  std::uint32_t api_max_body_bytes = 65536;
  std::string api_token_file;        // optional; when set, clients send "Authorization: Bearer <t>"
  std::string api_admin_token_file;  // optional; without it the admin endpoints answer 403
  std::uint64_t store_map_size_mb = 1024;
  std::uint32_t store_max_batch = 512;
  std::uint32_t events_retention_hours = 168;
  std::uint32_t events_dedup_retention_hours = 720;
  std::uint64_t events_max_outbox = 1000000;
  std::string kafka_bootstrap_servers;  // empty: Kafka publishing off
  std::string kafka_topic = "brokergw.events";
  std::string kafka_client_id = "brokergw";
  std::uint32_t kafka_linger_ms = 5;
  std::uint32_t kafka_queue_max_messages = 100000;
  std::vector<BrokerConfig> brokers;
};

struct ConfigError {
  std::string key;     // "brokers.sim.port", or "" for file-level errors
  std::string reason;  // "must be between 1 and 65535, got 0"
  std::string to_string() const { return key.empty() ? reason : key + ": " + reason; }
};

// Parses and validates; returns every error found, not only the first. A TOML syntax error is
// reported alone (key ""). load_config_string resolves relative paths against base_dir.
tl::expected<Config, std::vector<ConfigError>> load_config_file(const std::string& path);
tl::expected<Config, std::vector<ConfigError>> load_config_string(const std::string& toml,
                                                                  const std::string& base_dir);

// Markdown reference generated from the key table.
std::string configuration_reference_markdown();

}  // namespace brokergw::config
