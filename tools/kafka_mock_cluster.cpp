// kafka-mock-cluster: runs librdkafka's mock Kafka cluster (real Kafka protocol on 127.0.0.1
// ephemeral ports) for local runs of the gateway and for system tests. Prints exactly one line,
// `bootstrap=<host:port,...>`, on stdout once the brokers listen, then serves until SIGINT or
// SIGTERM. librdkafka's own log lines go to stderr.
//
// Threads: main waits in sigwait(); the brokers run on librdkafka's mock thread, which
// inherits the blocked signal mask, so only main ever sees SIGINT/SIGTERM.
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h refuses to compile unless rdkafka.h came first.
#include <librdkafka/rdkafka_mock.h>

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

namespace {

// Warnings and worse only: the handle's own notice that it has no bootstrap.servers is noise.
void log_to_stderr(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  if (level <= 4) std::fprintf(stderr, "%%%d|%s|%s| %s\n", level, rd_kafka_name(rk), facility, buf);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kafka-mock-cluster: librdkafka's mock Kafka cluster on 127.0.0.1"};
  int brokers = 3;
  std::string topic;
  int partitions = 6;
  app.add_option("--brokers", brokers, "number of brokers (ids 1..N)")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  app.add_option("--topic", topic, "create this topic at start-up (others are auto-created)");
  app.add_option("--partitions", partitions, "partitions of --topic")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Block the stop signals before librdkafka starts threads, then wait for them in main.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The mock cluster lives on a client handle; a producer that never produces, as
  // rdkafka_mock.h describes.
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  rd_kafka_conf_set_log_cb(conf, log_to_stderr);
  if (rd_kafka_conf_set(conf, "client.id", "kafka-mock-cluster", errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka-mock-cluster: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka-mock-cluster: %s\n", errstr);
    rd_kafka_conf_destroy(conf);
    return 1;
  }
  rd_kafka_mock_cluster_t* mcluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (mcluster == nullptr) {
    std::fprintf(stderr, "kafka-mock-cluster: could not start the mock cluster\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  int rc = 0;
  if (!topic.empty()) {
    const int replication = brokers < 3 ? brokers : 3;
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(mcluster, topic.c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka-mock-cluster: topic %s: %s\n", topic.c_str(),
                   rd_kafka_err2str(err));
      rc = 1;
    }
  }
  if (rc == 0) {
    std::printf("bootstrap=%s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    std::fprintf(stderr, "kafka-mock-cluster: signal %d, stopping\n", sig);
  }
  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return rc;
}
