// The Kafka implementation of events::EventSink: one idempotent librdkafka producer
// (acks=all, at most 5 requests in flight, infinite message timeout) writing to one topic.
// This header deliberately includes no librdkafka header: gateway/ links against it without
// seeing librdkafka.
//
// Threads: make_kafka_sink() runs on any thread; the returned sink is then used from the
// single publisher thread (produce, poll, flush, destruction). The delivery callback runs on
// that thread, inside poll(), flush() or the destructor. healthy() and in_flight() may be
// read from any thread (health and metrics endpoints).
//
// Invariants: one key -> one partition (murmur2_random partitioner), so one account's events
// reach consumers in produce order; every event accepted by produce() gets exactly one
// delivery callback (delivered, failed, or purged at destruction); in_flight() counts events
// accepted and not yet reported; no event is ever dropped by a timeout while Kafka is down.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "gateway/events/event_sink.h"

namespace brokergw::adapters::kafka {

struct KafkaSinkConfig {
  std::string bootstrap_servers;  // host:port[,host:port...]
  std::string topic;
  std::string client_id;
  std::uint32_t queue_max_messages = 100000;  // produce() answers kQueueFull beyond this
  std::uint32_t linger_ms = 5;                // batching delay before a produce request
  // Further librdkafka properties (SASL, TLS, ...). Properties that carry the sink's
  // guarantees (acks, idempotence, timeouts, in-flight limit, partitioner, ...) are refused.
  // Values of properties whose name contains "password", "secret" or "key" are never logged.
  std::vector<std::pair<std::string, std::string>> extra;
};

// Builds the producer. An error names the offending property (never its secret value).
// on_delivery is called once per accepted event, on the thread that polls the sink.
tl::expected<std::unique_ptr<events::EventSink>, std::string> make_kafka_sink(
    const KafkaSinkConfig& config, events::EventSink::DeliveryFn on_delivery);

}  // namespace brokergw::adapters::kafka
