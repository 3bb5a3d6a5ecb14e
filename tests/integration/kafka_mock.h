// Test helpers for the Kafka tier: an in-process librdkafka mock cluster (real Kafka protocol
// on 127.0.0.1 ephemeral ports, with broker outages and injected request errors) and a real
// librdkafka consumer that reads back what a producer wrote.
//
// Threads: each object is used from the test thread only; the mock cluster serves its
// brokers on librdkafka's own "mock" thread. MockCluster must outlive every client that
// connects to it.
//
// Invariants: the cluster listens only on loopback; TestConsumer never commits offsets and
// always reads every partition from the beginning, so it sees the whole log.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// Defined in rdkafka_mock.h, which is included only by kafka_mock.cpp.
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace brokergw::testing {

class MockCluster {
 public:
  // Starts broker_count brokers (ids 1..broker_count). Throws std::runtime_error on failure
  // (GoogleTest reports it as a test failure).
  explicit MockCluster(int broker_count = 3);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // "127.0.0.1:port,..." for bootstrap.servers.
  const std::string& bootstrap() const { return bootstrap_; }
  int broker_count() const { return broker_count_; }

  // Creates a topic with replication factor min(3, broker_count). Returns false on error.
  bool create_topic(const std::string& name, int partitions);

  // Disconnects the broker and refuses connections (-1: every broker), and back. Neither
  // moves partition leadership.
  void broker_down(std::int32_t broker_id);
  void broker_up(std::int32_t broker_id);

  // The next errors.size() Produce requests (on any broker) fail with these errors, in order.
  // RD_KAFKA_RESP_ERR__TRANSPORT makes the broker drop the connection instead.
  void push_produce_errors(const std::vector<rd_kafka_resp_err_t>& errors);

  rd_kafka_mock_cluster_t* handle() { return mcluster_; }

 private:
  int broker_count_;
  rd_kafka_t* rk_ = nullptr;  // the handle the mock cluster lives on; never produces
  rd_kafka_mock_cluster_t* mcluster_ = nullptr;
  std::string bootstrap_;
};

struct ConsumedMessage {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header with this name, or "" if none.
  std::string header(const std::string& name) const;
};

class TestConsumer {
 public:
  // Assigns every partition of topic (looked up through metadata) from the beginning, without
  // joining a group. Throws std::runtime_error on failure.
  TestConsumer(const std::string& bootstrap, const std::string& topic);
  ~TestConsumer();
  TestConsumer(const TestConsumer&) = delete;
  TestConsumer& operator=(const TestConsumer&) = delete;

  int partition_count() const { return partition_count_; }

  // Reads until this call has `count` messages or `timeout` has passed, whichever is first.
  std::vector<ConsumedMessage> read(std::size_t count, std::chrono::milliseconds timeout);

 private:
  rd_kafka_t* rk_ = nullptr;
  int partition_count_ = 0;
};

}  // namespace brokergw::testing
