// Integration tests of the Kafka event sink (adapters/kafka) against librdkafka's in-process
// mock cluster over loopback, read back by a real consumer. Each test owns its cluster.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/kafka/kafka_sink.h"
#include "tests/integration/kafka_mock.h"

namespace brokergw {
namespace {

using adapters::kafka::KafkaSinkConfig;
using adapters::kafka::make_kafka_sink;
using events::EventSink;
using events::OutboundEvent;
using events::SinkErrc;
using std::chrono::milliseconds;
using testing::ConsumedMessage;
using testing::MockCluster;
using testing::TestConsumer;

constexpr char kTopic[] = "brokergw.events";
constexpr int kPartitions = 6;

std::string event_id(std::uint64_t seq) { return "E" + std::to_string(1000000 + seq); }

// Event `seq` of a stream spread over `keys` accounts. Payload and headers are a function of
// seq, so the consumer side can check them byte for byte.
OutboundEvent make_event(std::uint64_t seq, int keys) {
  OutboundEvent e;
  e.seq = seq;
  e.key = "ACC-" + std::to_string(seq % static_cast<std::uint64_t>(keys));
  e.value = R"({"v":1,"event_id":")" + event_id(seq) + R"(","seq":)" + std::to_string(seq) +
            R"(,"account":")" + e.key + R"(","type":"fill","qty":"100","px":"187.25"})";
  e.headers = {{"event_id", event_id(seq)},
               {"event_type", "execution"},
               {"broker", "sim"},
               {"client_order_id", "C-" + std::to_string(seq / 3)},
               {"content-type", "application/json; version=1"}};
  return e;
}

// Delivery reports as the publisher would see them; runs on the test thread inside poll().
struct Deliveries {
  std::map<std::uint64_t, int> delivered;  // seq -> number of delivered == true reports
  std::map<std::uint64_t, std::string> failed;

  EventSink::DeliveryFn fn() {
    return [this](std::uint64_t seq, bool ok, const std::string& error) {
      if (ok) {
        ++delivered[seq];
      } else {
        failed[seq] = error;
      }
    };
  }
};

KafkaSinkConfig sink_config(const MockCluster& cluster) {
  KafkaSinkConfig c;
  c.bootstrap_servers = cluster.bootstrap();
  c.topic = kTopic;
  c.client_id = "brokergw-test";
  // Reconnect quickly after an outage so the tests stay short; production keeps the default.
  c.extra = {{"reconnect.backoff.max.ms", "500"}};
  // KAFKA_TEST_DEBUG=msg,eos,... turns on librdkafka's debug contexts for a failing run.
  if (const char* debug = std::getenv("KAFKA_TEST_DEBUG"); debug != nullptr && *debug) {
    c.extra.emplace_back("debug", debug);
    spdlog::set_level(spdlog::level::debug);
  }
  return c;
}

// Produces one event, polling while the local queue is full. False on any other error.
::testing::AssertionResult produce(EventSink& sink, const OutboundEvent& e) {
  for (;;) {
    auto r = sink.produce(e);
    if (r) return ::testing::AssertionSuccess();
    if (r.error().code != SinkErrc::kQueueFull) {
      return ::testing::AssertionFailure()
             << "produce(" << e.seq << "): " << static_cast<int>(r.error().code) << " "
             << r.error().detail;
    }
    sink.poll(10);
  }
}

void wait_delivered(EventSink& sink, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (sink.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) sink.poll(50);
}

// Reads until every one of `count` distinct events has arrived or `timeout` passed, then
// 300 ms more for anything that follows (late duplicates, strays).
std::vector<ConsumedMessage> read_events(TestConsumer& consumer, std::uint64_t count,
                                         milliseconds timeout) {
  std::vector<ConsumedMessage> all;
  std::set<std::string> ids;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ids.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (auto& m : consumer.read(count - ids.size(), milliseconds(200))) {
      ids.insert(m.header("event_id"));
      all.push_back(std::move(m));
    }
  }
  for (auto& m : consumer.read(SIZE_MAX, milliseconds(300))) all.push_back(std::move(m));
  return all;
}

// What the consumer saw, checked against events 0..count-1.
struct ReadBack {
  std::size_t duplicates = 0;  // copies beyond the first, same event id and same bytes
};

// Every event exactly once (or, with allow_duplicates, at least once with identical copies),
// values and headers intact, one partition per key, and per key the first occurrences in
// increasing seq order.
ReadBack check_read_back(const std::vector<ConsumedMessage>& msgs, std::uint64_t count, int keys,
                         bool allow_duplicates) {
  ReadBack rb;
  std::map<std::string, int> seen;                   // event id -> copies
  std::map<std::string, std::int32_t> partition_of;  // key -> partition
  std::map<std::string, std::int64_t> last_seq;      // key -> last first-seen seq
  std::map<std::string, std::uint64_t> seq_of;
  for (std::uint64_t s = 0; s < count; ++s) seq_of[event_id(s)] = s;

  for (const ConsumedMessage& m : msgs) {
    const std::string id = m.header("event_id");
    auto it = seq_of.find(id);
    if (it == seq_of.end()) {
      ADD_FAILURE() << "unknown event id '" << id << "' at p" << m.partition << "@" << m.offset;
      continue;
    }
    const OutboundEvent want = make_event(it->second, keys);
    EXPECT_EQ(m.key, want.key) << id;
    EXPECT_EQ(m.value, want.value) << id;
    EXPECT_EQ(m.headers, want.headers) << id;

    auto [p, fresh] = partition_of.emplace(m.key, m.partition);
    EXPECT_TRUE(fresh || p->second == m.partition)
        << "key " << m.key << " in partitions " << p->second << " and " << m.partition;

    if (++seen[id] > 1) {
      ++rb.duplicates;
      continue;
    }
    auto [last, first_of_key] = last_seq.emplace(m.key, static_cast<std::int64_t>(it->second));
    if (!first_of_key) {
      EXPECT_LT(last->second, static_cast<std::int64_t>(it->second))
          << "key " << m.key << " out of order at p" << m.partition << "@" << m.offset;
      last->second = static_cast<std::int64_t>(it->second);
    }
  }
  EXPECT_EQ(seen.size(), count) << "distinct events read back";
  for (std::uint64_t s = 0; s < count; ++s) {
    if (seen.count(event_id(s))) continue;
    const std::string key = make_event(s, keys).key;
    ADD_FAILURE() << "event " << s << " (key " << key << ", partition "
                  << (partition_of.count(key) ? partition_of[key] : -1)
                  << ") never reached the consumer";
  }
  // A hole in a partition's offsets means the consumer skipped part of the log.
  std::map<std::int32_t, std::set<std::int64_t>> offsets;
  for (const ConsumedMessage& m : msgs) offsets[m.partition].insert(m.offset);
  for (const auto& [partition, offs] : offsets) {
    std::int64_t expect = 0;
    for (std::int64_t o : offs) {
      if (o != expect)
        ADD_FAILURE() << "p" << partition << ": offsets " << expect << ".." << o - 1 << " not read";
      expect = o + 1;
    }
  }
  if (!allow_duplicates) EXPECT_EQ(rb.duplicates, 0u);
  return rb;
}

void expect_each_delivered_once(const Deliveries& d, std::uint64_t count) {
  EXPECT_TRUE(d.failed.empty()) << d.failed.size() << " failed, first: seq "
                                << d.failed.begin()->first << " " << d.failed.begin()->second;
  EXPECT_EQ(d.delivered.size(), count);
  for (const auto& [seq, n] : d.delivered) {
    EXPECT_EQ(n, 1) << "seq " << seq;
    EXPECT_LT(seq, count);
  }
}

TEST(KafkaSink, DeliversEveryEventOnceInKeyOrderWithHeaders) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.create_topic(kTopic, kPartitions));
  Deliveries d;
  auto sink = make_kafka_sink(sink_config(cluster), d.fn());
  ASSERT_TRUE(sink) << sink.error();

  constexpr std::uint64_t kEvents = 10000;
  constexpr int kKeys = 50;
  for (std::uint64_t s = 0; s < kEvents; ++s) {
    ASSERT_TRUE(produce(**sink, make_event(s, kKeys)));
    if (s % 100 == 0) (*sink)->poll(0);
  }
  wait_delivered(**sink, milliseconds(20000));
  EXPECT_EQ((*sink)->in_flight(), 0u);
  EXPECT_TRUE((*sink)->healthy());
  expect_each_delivered_once(d, kEvents);

  TestConsumer consumer(cluster.bootstrap(), kTopic);
  EXPECT_EQ(consumer.partition_count(), kPartitions);
  auto msgs = read_events(consumer, kEvents, milliseconds(20000));
  check_read_back(msgs, kEvents, kKeys, /*allow_duplicates=*/false);

  std::set<std::int32_t> partitions;
  for (const auto& m : msgs) partitions.insert(m.partition);
  EXPECT_GT(partitions.size(), 1u) << "50 keys should spread over partitions";
}

TEST(KafkaSink, EventsWaitThroughAFullOutageAndArriveInOrder) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.create_topic(kTopic, kPartitions));
  Deliveries d;
  auto sink = make_kafka_sink(sink_config(cluster), d.fn());
  ASSERT_TRUE(sink) << sink.error();

  // A 3 s stream at 1 event/ms; every broker goes down at 0.5 s and comes back at 2.5 s.
  constexpr std::uint64_t kEvents = 3000;
  constexpr int kKeys = 20;
  const auto start = std::chrono::steady_clock::now();
  bool down = false, back_up = false;
  std::size_t max_in_flight_while_down = 0;
  for (std::uint64_t s = 0; s < kEvents; ++s) {
    ASSERT_TRUE(produce(**sink, make_event(s, kKeys)));
    if (s % 10 != 9) continue;
    (*sink)->poll(0);
    std::this_thread::sleep_until(start + milliseconds(s + 1));
    const auto t = std::chrono::steady_clock::now() - start;
    if (!down && t >= milliseconds(500)) {
      cluster.broker_down(-1);
      down = true;
    } else if (down && !back_up) {
      max_in_flight_while_down = std::max(max_in_flight_while_down, (*sink)->in_flight());
      if (t >= milliseconds(2500)) {
        cluster.broker_up(-1);
        back_up = true;
      }
    }
  }
  ASSERT_TRUE(down && back_up);
  const auto up_at = std::chrono::steady_clock::now();
  EXPECT_GT(max_in_flight_while_down, 100u) << "events should pile up during the outage";
  EXPECT_TRUE(d.failed.empty()) << "an outage must not fail events";

  wait_delivered(**sink, milliseconds(20000));
  const auto recovery_ms =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - up_at).count();
  EXPECT_EQ((*sink)->in_flight(), 0u);
  EXPECT_TRUE((*sink)->healthy());
  expect_each_delivered_once(d, kEvents);

  TestConsumer consumer(cluster.bootstrap(), kTopic);
  auto msgs = read_events(consumer, kEvents, milliseconds(20000));
  const ReadBack rb = check_read_back(msgs, kEvents, kKeys, /*allow_duplicates=*/true);
  // Requests cut off by the outage are retried; the mock may store them twice (see
  // docs/EVENTS.md). Consumers de-duplicate by event_id.
  RecordProperty("duplicates", static_cast<int>(rb.duplicates));
  std::printf(
      "outage: %zu duplicate message(s) in the log, %zu max in flight while down, all "
      "delivered %lld ms after the brokers came back\n",
      rb.duplicates, max_in_flight_while_down, static_cast<long long>(recovery_ms));
}

// Errors that a real cluster returns while it elects leaders or loses replicas, and the two
// "did it land?" cases (broker-side timeout, dropped connection). The events go in waves of
// one request per partition: see the next test for why pipelined requests cannot be tested
// against the mock.
TEST(KafkaSink, RetriableProduceErrorsAreRetriedInOrderWithoutFatalError) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.create_topic(kTopic, kPartitions));
  Deliveries d;
  KafkaSinkConfig config = sink_config(cluster);
  config.linger_ms = 20;  // a wave, produced in microseconds, becomes one batch per partition
  auto sink = make_kafka_sink(config, d.fn());
  ASSERT_TRUE(sink) << sink.error();

  constexpr std::uint64_t kWaves = 30;
  constexpr std::uint64_t kWave = 60;
  constexpr std::uint64_t kEvents = kWaves * kWave;
  constexpr int kKeys = 20;
  const std::vector<std::vector<rd_kafka_resp_err_t>> injections = {
      {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
       RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS},
      {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
       RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION},
      {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
       RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT},
  };
  std::uint64_t seq = 0;
  for (std::uint64_t wave = 0; wave < kWaves; ++wave) {
    // Wave 0 warms up (PID, connections); errors hit waves 1, 11 and 21.
    if (wave % 10 == 1) cluster.push_produce_errors(injections[wave / 10]);
    for (std::uint64_t i = 0; i < kWave; ++i, ++seq) {
      ASSERT_TRUE(produce(**sink, make_event(seq, kKeys)));
    }
    wait_delivered(**sink, milliseconds(10000));
    ASSERT_EQ((*sink)->in_flight(), 0u) << "wave " << wave;
  }
  EXPECT_TRUE((*sink)->healthy());
  expect_each_delivered_once(d, kEvents);

  TestConsumer consumer(cluster.bootstrap(), kTopic);
  auto msgs = read_events(consumer, kEvents, milliseconds(20000));
  // A dropped connection can cut off the response to a request the mock had already
  // appended; the retry is appended again because the mock does not de-duplicate idempotent
  // sequence numbers (a real broker does). Copies are byte-identical, same event_id.
  const ReadBack rb = check_read_back(msgs, kEvents, kKeys, /*allow_duplicates=*/true);
  RecordProperty("duplicates", static_cast<int>(rb.duplicates));
  std::printf("injected errors: %zu duplicate message(s) in the log\n", rb.duplicates);
}

// Known limitation of librdkafka 2.0.2's mock cluster, kept as a reproducer (run with
// --gtest_also_run_disabled_tests). When request R1 for a partition fails with a retriable
// error while a later request R2 for the same partition is already in flight, a real broker
// rejects R2 (OUT_OF_ORDER_SEQUENCE_NUMBER) and the producer retries both in order. The mock
// does not check idempotent sequence numbers (it does so only for transactional producers),
// appends R2, and librdkafka then takes R1 as persisted (debug context "eos" logs
// IMPLICITACK): R1's events are reported delivered but are not in the mock's log. Timing
// dependent: fails in roughly one run in five. Not a producer bug; see docs/EVENTS.md.
TEST(KafkaSink, DISABLED_MockLosesEarlierBatchWhenPipelinedRequestFails) {
  MockCluster cluster(3);
  ASSERT_TRUE(cluster.create_topic(kTopic, kPartitions));
  Deliveries d;
  auto sink = make_kafka_sink(sink_config(cluster), d.fn());
  ASSERT_TRUE(sink) << sink.error();
  constexpr std::uint64_t kEvents = 2000;
  constexpr int kKeys = 20;
  ASSERT_TRUE(produce(**sink, make_event(0, kKeys)));
  wait_delivered(**sink, milliseconds(10000));
  cluster.push_produce_errors(
      std::vector<rd_kafka_resp_err_t>(8, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS));
  for (std::uint64_t s = 1; s < kEvents; ++s) {
    ASSERT_TRUE(produce(**sink, make_event(s, kKeys)));
    if (s % 50 == 0) (*sink)->poll(5);
  }
  wait_delivered(**sink, milliseconds(20000));
  expect_each_delivered_once(d, kEvents);
  TestConsumer consumer(cluster.bootstrap(), kTopic);
  auto msgs = read_events(consumer, kEvents, milliseconds(5000));
  check_read_back(msgs, kEvents, kKeys, /*allow_duplicates=*/true);
}

TEST(KafkaSink, FullQueueIsReportedAndClearsAfterPoll) {
  MockCluster cluster(1);
  ASSERT_TRUE(cluster.create_topic(kTopic, 1));
  Deliveries d;
  KafkaSinkConfig config = sink_config(cluster);
  config.queue_max_messages = 10;
  auto sink = make_kafka_sink(config, d.fn());
  ASSERT_TRUE(sink) << sink.error();

  // Without poll() delivery reports are not served, so accepted events keep their slots.
  for (std::uint64_t s = 0; s < 10; ++s) ASSERT_TRUE((*sink)->produce(make_event(s, 3)));
  auto full = (*sink)->produce(make_event(10, 3));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, SinkErrc::kQueueFull);
  EXPECT_EQ((*sink)->in_flight(), 10u);

  wait_delivered(**sink, milliseconds(10000));
  EXPECT_EQ(d.delivered.size(), 10u);
  EXPECT_TRUE((*sink)->produce(make_event(10, 3)));
  wait_delivered(**sink, milliseconds(10000));
  expect_each_delivered_once(d, 11);
}

TEST(KafkaSink, ShutdownDuringOutageReportsEveryEventAsNotDelivered) {
  MockCluster cluster(1);
  ASSERT_TRUE(cluster.create_topic(kTopic, 1));
  Deliveries d;
  {
    auto sink = make_kafka_sink(sink_config(cluster), d.fn());
    ASSERT_TRUE(sink) << sink.error();
    ASSERT_TRUE(produce(**sink, make_event(0, 1)));
    wait_delivered(**sink, milliseconds(10000));
    cluster.broker_down(-1);
    for (std::uint64_t s = 1; s <= 5; ++s) ASSERT_TRUE(produce(**sink, make_event(s, 1)));
    (*sink)->poll(200);
    EXPECT_EQ((*sink)->in_flight(), 5u);
  }  // destructor: brief flush, then purge; each event still gets its one callback
  EXPECT_EQ(d.delivered.size(), 1u);
  EXPECT_EQ(d.failed.size(), 5u);
}

TEST(KafkaSink, PermanentErrorUnderGaplessGuaranteeIsFatal) {
  MockCluster cluster(1);
  ASSERT_TRUE(cluster.create_topic(kTopic, 1));
  Deliveries d;
  KafkaSinkConfig config = sink_config(cluster);
  config.extra.emplace_back("enable.gapless.guarantee", "true");
  auto sink = make_kafka_sink(config, d.fn());
  ASSERT_TRUE(sink) << sink.error();
  ASSERT_TRUE(produce(**sink, make_event(0, 1)));
  wait_delivered(**sink, milliseconds(10000));
  ASSERT_TRUE((*sink)->healthy());

  cluster.push_produce_errors({RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE});
  ASSERT_TRUE(produce(**sink, make_event(1, 1)));
  wait_delivered(**sink, milliseconds(10000));
  EXPECT_FALSE((*sink)->healthy());
  EXPECT_EQ(d.failed.count(1), 1u);
  auto r = (*sink)->produce(make_event(2, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, SinkErrc::kFatal);
}

TEST(KafkaSink, ConfigErrorsNameTheProperty) {
  KafkaSinkConfig c;
  c.bootstrap_servers = "127.0.0.1:9";
  c.topic = kTopic;
  auto noop = [](std::uint64_t, bool, const std::string&) {};

  c.extra = {{"no.such.property", "1"}};
  auto unknown = make_kafka_sink(c, noop);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("no.such.property"), std::string::npos) << unknown.error();

  c.extra = {{"acks", "1"}};
  auto reserved = make_kafka_sink(c, noop);
  ASSERT_FALSE(reserved);
  EXPECT_NE(reserved.error().find("acks"), std::string::npos) << reserved.error();

  c.extra = {{"sasl.mechanisms", "PLAIN"}, {"security.protocol", "bogus-secret-value"}};
  auto bad_value = make_kafka_sink(c, noop);
  ASSERT_FALSE(bad_value);
  EXPECT_NE(bad_value.error().find("security.protocol"), std::string::npos) << bad_value.error();

  // Secret values reach neither the log nor an error message. The capturing logger outlives
  // the sink, whose librdkafka threads log through the default logger.
  {
    auto logged = std::make_shared<std::ostringstream>();
    auto capture = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(*logged));
    struct Restore {
      std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
      ~Restore() { spdlog::set_default_logger(previous); }
    } restore;
    spdlog::set_default_logger(capture);
    c.extra = {{"sasl.password", "hunter2"}, {"ssl.key.password", "hunter3"}};
    auto with_secrets = make_kafka_sink(c, noop);
    ASSERT_TRUE(with_secrets) << with_secrets.error();
    with_secrets->reset();
    const std::string text = logged->str();
    EXPECT_NE(text.find("sasl.password=<hidden>"), std::string::npos) << text;
    EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
    EXPECT_EQ(text.find("hunter3"), std::string::npos) << text;
  }

  c.extra.clear();
  c.linger_ms = 10'000'000;
  auto linger = make_kafka_sink(c, noop);
  ASSERT_FALSE(linger);
  EXPECT_NE(linger.error().find("linger.ms"), std::string::npos) << linger.error();
}

}  // namespace
}  // namespace brokergw
