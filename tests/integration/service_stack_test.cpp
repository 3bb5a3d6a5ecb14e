// The gateway's threads together in one process, so ThreadSanitizer sees all of them at once:
// the HTTP API pool (real HTTP clients on loopback), the order service (lane, report intake,
// scheduler), the FIX adapter against a real brokersim process, and the outbox publisher
// producing to librdkafka's mock cluster. Label "concurrency": CI runs it under TSan, without
// the Kafka part there: librdkafka (not instrumented) with its in-process mock cluster dies
// with a SEGV under ThreadSanitizer, so the publisher is covered by the plain and ASan runs.
#include <atomic>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "adapters/fix/fix_adapter.h"
#include "adapters/kafka/kafka_sink.h"
#include "gateway/api/http_api.h"
#include "gateway/events/publisher.h"
#include "gateway/service/order_service.h"
#include "tests/integration/kafka_mock.h"
#include "tests/integration/service_support.h"
#include "tests/support/memory_store.h"
#include "tests/system/harness.h"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BROKERGW_UNDER_TSAN 1
#endif
#endif
#ifndef BROKERGW_UNDER_TSAN
#define BROKERGW_UNDER_TSAN 0
#endif

namespace brokergw {
namespace {

constexpr bool kWithKafka = !BROKERGW_UNDER_TSAN;

using namespace std::chrono_literals;
using nlohmann::json;

TEST(GatewayThreads, shouldTakeOrdersOverHttpFillThemAndPublishEveryEventOnce) {
  systest::TempDir dir;
  const int fix_port = systest::free_port();
  auto sim = servicetest::start_sim(
      dir, fix_port, {"symbol = \"AAPL\"\naction = \"fill\"\nfills = 2\nfill_interval_ms = 2"});
  std::unique_ptr<testing::MockCluster> cluster;
  testing::MemoryStore store;
  events::EventNotifier notifier;
  events::OutboxPublisher publisher(store, {.instance_id = "gw-threads"});
  std::unique_ptr<events::EventSink> sink;
  if (kWithKafka) {
    cluster = std::make_unique<testing::MockCluster>(1);
    ASSERT_TRUE(cluster->create_topic("brokergw.events", 2));
    auto made = adapters::kafka::make_kafka_sink({.bootstrap_servers = cluster->bootstrap(),
                                                  .topic = "brokergw.events",
                                                  .client_id = "brokergw-test",
                                                  .queue_max_messages = 100000,
                                                  .linger_ms = 5,
                                                  .extra = {}},
                                                 publisher.delivery_callback());
    ASSERT_TRUE(made) << made.error();
    sink = std::move(*made);
    notifier.set_listener([&publisher] { publisher.notify(); });
    ASSERT_TRUE(publisher.start(*sink));
  }

  config::BrokerConfig b = servicetest::sim_broker(fix_port);
  auto adapter = adapters::fix::make_fix_adapter(b, dir.file("gw-state"), store);
  ASSERT_TRUE(adapter) << adapter.error();
  std::vector<service::OrderService::BrokerLaneConfig> lanes;
  lanes.push_back({std::move(*adapter), service::BrokerPolicy{}});
  service::OrderService orders(store, std::move(lanes), service::system_now_us, notifier);
  orders.start();

  config::Config cfg;
  cfg.instance_id = "gw-threads";
  cfg.api_listen_address = "127.0.0.1";
  cfg.api_listen_port = static_cast<std::uint16_t>(systest::free_port());
  cfg.api_threads = 8;
  auto event_status = [&publisher] {
    api::HttpApi::EventStatus st;
    st.kafka_enabled = kWithKafka;
    const events::PublisherStats ps = publisher.stats();
    st.kafka_healthy = ps.sink_healthy;
    st.published_through = ps.acked_through;
    st.delivered = ps.delivered;
    return st;
  };
  api::HttpApi http(orders, cfg, "", event_status);
  ASSERT_TRUE(http.start());
  ASSERT_TRUE(systest::wait_until([&] { return orders.broker_status().at(0).logged_on; }, 15s));

  constexpr int kClients = 4, kPerClient = 15;
  std::atomic<int> created{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client cli("127.0.0.1", http.port());
      for (int i = 0; i < kPerClient; ++i) {
        const std::string id = "t-" + std::to_string(c) + "-" + std::to_string(i);
        json order = {{"client_order_id", id}, {"account", "ACC-" + std::to_string(c)},
                      {"broker", "sim"},       {"symbol", "AAPL"},
                      {"side", "buy"},         {"quantity", "20"},
                      {"order_type", "market"}};
        auto r = cli.Post("/v1/orders", order.dump(), "application/json");
        if (r && r->status == 201) created++;
        (void)cli.Get("/v1/health");
        (void)cli.Get("/v1/events?after=0&limit=10");
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(created.load(), kClients * kPerClient);
  httplib::Client cli("127.0.0.1", http.port());
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPerClient; ++i) {
      const std::string id = "t-" + std::to_string(c) + "-" + std::to_string(i);
      ASSERT_TRUE(systest::wait_until(
          [&] {
            auto r = cli.Get(("/v1/orders/" + id).c_str());
            return r && r->status == 200 && json::parse(r->body)["state"] == "filled";
          },
          20s))
          << id;
    }
  }
  // Every journaled event reaches Kafka, once per id.
  std::uint64_t last = orders.last_event_seq().value_or(0);
  ASSERT_GE(last, static_cast<std::uint64_t>(3 * kClients * kPerClient));  // ack + 2 fills
  if (kWithKafka) {
    ASSERT_TRUE(systest::wait_until([&] { return publisher.stats().acked_through >= last; }, 20s));
    testing::TestConsumer consumer(cluster->bootstrap(), "brokergw.events");
    auto msgs = consumer.read(last, 20s);
    std::set<std::string> ids;
    for (const auto& m : msgs) ids.insert(m.header("event_id"));
    EXPECT_EQ(ids.size(), last);
    EXPECT_EQ(msgs.size(), last);
  }

  http.stop();
  orders.stop();
  publisher.stop();
  store.close();
}

}  // namespace
}  // namespace brokergw
