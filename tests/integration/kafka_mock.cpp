// Mock Kafka cluster and read-back consumer for the Kafka integration tests (kafka_mock.h).
#include "tests/integration/kafka_mock.h"

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h refuses to compile unless rdkafka.h came first.
#include <librdkafka/rdkafka_mock.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace brokergw::testing {
namespace {

// The Kafka protocol ApiKey of ProduceRequest (RD_KAFKAP_Produce is not in the public headers).
constexpr std::int16_t kApiKeyProduce = 0;

// librdkafka logs only warnings and worse to stderr: outages make the clients chatty.
void quiet_log(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  if (level <= 4) std::fprintf(stderr, "%%%d|%s|%s| %s\n", level, rd_kafka_name(rk), facility, buf);
}

void set_or_throw(rd_kafka_conf_t* conf, const char* name, const char* value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("kafka property ") + name + ": " + errstr);
  }
}

}  // namespace

MockCluster::MockCluster(int broker_count) : broker_count_(broker_count) {
  // The mock cluster needs an rd_kafka_t for its bookkeeping; a producer that never produces.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_or_throw(conf, "client.id", "mock-cluster");
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("mock cluster handle: ") + errstr);
  }
  mcluster_ = rd_kafka_mock_cluster_new(rk_, broker_count);
  if (mcluster_ == nullptr) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  }
  bootstrap_ = rd_kafka_mock_cluster_bootstraps(mcluster_);
}

MockCluster::~MockCluster() {
  rd_kafka_mock_cluster_destroy(mcluster_);
  rd_kafka_destroy(rk_);
}

bool MockCluster::create_topic(const std::string& name, int partitions) {
  return rd_kafka_mock_topic_create(mcluster_, name.c_str(), partitions,
                                    std::min(3, broker_count_)) == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void MockCluster::broker_down(std::int32_t broker_id) {
  if (broker_id >= 0) {
    rd_kafka_mock_broker_set_down(mcluster_, broker_id);
    return;
  }
  for (std::int32_t id = 1; id <= broker_count_; ++id) rd_kafka_mock_broker_set_down(mcluster_, id);
}

void MockCluster::broker_up(std::int32_t broker_id) {
  if (broker_id >= 0) {
    rd_kafka_mock_broker_set_up(mcluster_, broker_id);
    return;
  }
  for (std::int32_t id = 1; id <= broker_count_; ++id) rd_kafka_mock_broker_set_up(mcluster_, id);
}

void MockCluster::push_produce_errors(const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(mcluster_, kApiKeyProduce, errors.size(), errors.data());
}

std::string ConsumedMessage::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return {};
}

TestConsumer::TestConsumer(const std::string& bootstrap, const std::string& topic) {
  static int instance = 0;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set_or_throw(conf, "bootstrap.servers", bootstrap.c_str());
  set_or_throw(conf, "client.id", "test-consumer");
  // A group id is needed for the consumer API, but we assign partitions ourselves: no join,
  // no commits.
  const std::string group = "test-consumer-" + std::to_string(++instance);
  set_or_throw(conf, "group.id", group.c_str());
  set_or_throw(conf, "enable.auto.commit", "false");
  set_or_throw(conf, "auto.offset.reset", "earliest");
  rd_kafka_conf_set_log_cb(conf, quiet_log);
  char errstr[512];
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk_ == nullptr) {
    rd_kafka_conf_destroy(conf);
    throw std::runtime_error(std::string("test consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk_);

  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  const rd_kafka_metadata_t* md = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, rkt, &md, 10000);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err) {
    const std::string what = err                  ? rd_kafka_err2str(err)
                             : md->topic_cnt != 1 ? "topic not in metadata"
                                                  : rd_kafka_err2str(md->topics[0].err);
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk_);
    throw std::runtime_error("test consumer metadata for " + topic + ": " + what);
  }
  partition_count_ = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);

  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partition_count_);
  for (int p = 0; p < partition_count_; ++p) {
    rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  }
  const rd_kafka_resp_err_t aerr = rd_kafka_assign(rk_, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  if (aerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk_);
    throw std::runtime_error(std::string("test consumer assign: ") + rd_kafka_err2str(aerr));
  }
}

TestConsumer::~TestConsumer() {
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

std::vector<ConsumedMessage> TestConsumer::read(std::size_t count,
                                                std::chrono::milliseconds timeout) {
  std::vector<ConsumedMessage> out;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* msg = rd_kafka_consumer_poll(rk_, 100);
    if (msg == nullptr) continue;
    if (msg->err) {
      // Partition EOF is off by default; anything else is a transient client error.
      std::fprintf(stderr, "test consumer: %s\n", rd_kafka_message_errstr(msg));
      rd_kafka_message_destroy(msg);
      continue;
    }
    ConsumedMessage m;
    m.partition = msg->partition;
    m.offset = msg->offset;
    if (msg->key) m.key.assign(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload) m.value.assign(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        m.headers.emplace_back(
            name, value ? std::string(static_cast<const char*>(value), size) : std::string());
      }
    }
    out.push_back(std::move(m));
    rd_kafka_message_destroy(msg);
  }
  return out;
}

}  // namespace brokergw::testing
