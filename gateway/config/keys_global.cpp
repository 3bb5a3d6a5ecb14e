// The key table of the global sections: [gateway], [api], [store], [events] and [kafka], each
// row being a key's name, type, range, default, doc and the Config field it sets. The loader
// and docs/CONFIGURATION.md both come from these rows; adding a key means one row here (or in
// keys_brokers.cpp) and one field in config.h, then regenerating the reference.
//
// Threads: built on first use (the main thread at start-up); read-only afterwards.
//
// Invariants: section and key order is the order of errors and of the generated reference, so
// reordering rows changes docs/CONFIGURATION.md; every row has an `apply`; defaulted integers lie
// within [min, max]; string checks are the rules of value_rules.cpp.
#include <cstdint>
#include <vector>

#include "gateway/config/key_table.h"

namespace brokergw::config::detail {

namespace {

// The [kafka] section, on its own: one initializer for every section grows past what
// clang-format lays out stably.
Section<Config> kafka_section() {
  return {.name = "kafka",
          .doc =
              "Kafka fan-out of execution events. Without `bootstrap_servers` events are "
              "only served by the polling API.",
          .keys = {
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
          }};
}

}  // namespace

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
               {.name = "admin_token_file",
                .type = KeyType::kPath,
                .presence = Presence::kOptional,
                .path_check = PathCheck::kNonEmptyFile,
                .doc = "File holding the bearer token of the admin endpoints (/admin/v1: FIX "
                       "sequence numbers), separate from token_file. Must exist and be "
                       "non-empty when set. When unset, every admin endpoint answers 403.",
                .apply = [](Config& c, const Value& v) { c.api_admin_token_file = v.text; }},
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
      kafka_section(),
  };
  return sections;
}

}  // namespace brokergw::config::detail
