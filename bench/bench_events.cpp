// bench_events: the execution event pipeline (docs/BENCHMARKS.md, issue 3).
//
//   publish:  events committed to the store -> outbox publisher -> idempotent producer ->
//             librdkafka's mock cluster (in this process, on loopback) -> delivery report.
//             (a) throughput: a backlog of N events published from the store, events/s;
//             (b) latency: events committed one per group-commit write at a fixed rate (as
//                 broker reports are), from "report received" (just before its write is
//                 submitted) to its delivery report: p50, p99.
//   fix_path: the order path with and without Kafka configured, in the same run: the real
//             gateway and simulator processes (tests/system/harness.h), the simulator acking
//             and filling every order so events flow, orders at a fixed offered rate;
//             latency API request -> NewOrderSingle at the simulator, p50/p99, both ways.
//
// Nothing is asserted; numbers are reported and written to --json.
#include <httplib.h>

#include <atomic>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "adapters/kafka/kafka_sink.h"
#include "bench/bench_util.h"
#include "gateway/events/publisher.h"
#include "store/store.h"
#include "tests/integration/kafka_mock.h"
#include "tests/system/harness.h"

namespace {

using namespace brokergw;
using bench::mono_ns;
using nlohmann::json;

constexpr const char* kTopic = "brokergw.events";

store::StoredEvent sample_event(std::uint64_t i) {
  store::StoredEvent ev;
  ev.type = "order.fill";
  ev.broker = "sim";
  ev.account = "ACC-" + std::to_string(i % 64);
  ev.client_order_id = "bench-" + std::to_string(i);
  ev.at_us = bench::wall_us();
  ev.body = R"({"avg_price":"187.25","broker_order_id":"SIM-1","cum_qty":"10","exec_id":"E-)" +
            std::to_string(i) +
            R"(","last_px":"187.25","last_qty":"10","leaves_qty":"90","quantity":"100",)"
            R"("side":"buy","state":"partially_filled","symbol":"AAPL"})";
  return ev;
}

struct Pipeline {
  bench::ScratchDir dir{"brokergw-bench-events"};
  std::unique_ptr<store::Store> db;
  std::unique_ptr<events::OutboxPublisher> publisher;
  std::unique_ptr<events::EventSink> sink;
  std::mutex mu;
  std::map<std::uint64_t, std::int64_t> delivered_ns;  // seq -> delivery report time

  explicit Pipeline(const std::string& bootstrap) {
    auto opened = store::open_lmdb_store({.directory = dir.path() + "/store"});
    if (!opened) throw std::runtime_error(opened.error().detail);
    db = std::move(*opened);
    publisher = std::make_unique<events::OutboxPublisher>(
        *db, events::PublisherOptions{.instance_id = "bench"});
    auto forward = publisher->delivery_callback();
    auto made = adapters::kafka::make_kafka_sink(
        {.bootstrap_servers = bootstrap,
         .topic = kTopic,
         .client_id = "bench",
         .queue_max_messages = 200000,
         .linger_ms = 5,
         .extra = {}},
        [this, forward](std::uint64_t seq, bool ok, const std::string& err) {
          if (ok) {
            std::lock_guard lock(mu);
            delivered_ns.emplace(seq, mono_ns());
          }
          forward(seq, ok, err);
        });
    if (!made) throw std::runtime_error(made.error());
    sink = std::move(*made);
  }
  ~Pipeline() {
    publisher->stop();
    sink.reset();
    db->close();
  }
  std::size_t delivered() {
    std::lock_guard lock(mu);
    return delivered_ns.size();
  }
};

json bench_throughput(const std::string& bootstrap, std::uint64_t events) {
  Pipeline p(bootstrap);
  // The backlog is written first (as after a Kafka outage), then published.
  const std::uint64_t per_write = 1000;
  for (std::uint64_t done = 0; done < events; done += per_write) {
    auto s = p.db->write_and_wait([&](store::WriteTxn& txn) -> store::Status {
      for (std::uint64_t i = done; i < std::min(events, done + per_write); ++i) {
        auto seq = txn.append_event(sample_event(i));
        if (!seq) return tl::unexpected(seq.error());
      }
      return {};
    });
    if (!s) throw std::runtime_error(s.error().detail);
  }
  const std::int64_t start = mono_ns();
  if (auto s = p.publisher->start(*p.sink); !s) throw std::runtime_error(s.error().detail);
  while (p.publisher->stats().acked_through < events) {
    if (mono_ns() - start > 120'000'000'000LL) throw std::runtime_error("publish timed out");
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  const double seconds = (mono_ns() - start) / 1e9;
  const double rate = events / seconds;
  std::cout << "  backlog of " << events << " events published and acknowledged in " << seconds
            << " s: " << static_cast<long>(rate) << " events/s\n";
  return {{"events", events},
          {"seconds", bench::round_to(seconds, 3)},
          {"events_per_s", bench::round_to(rate, 1)}};
}

json bench_latency(const std::string& bootstrap, std::uint64_t rate, double seconds) {
  Pipeline p(bootstrap);
  if (auto s = p.publisher->start(*p.sink); !s) throw std::runtime_error(s.error().detail);
  std::mutex mu;
  std::map<std::uint64_t, std::int64_t> received_ns;
  const std::uint64_t total = static_cast<std::uint64_t>(rate * seconds);
  const std::int64_t start = mono_ns();
  std::atomic<std::uint64_t> last_seq{0};
  for (std::uint64_t i = 0; i < total; ++i) {
    bench::sleep_until_ns(start + static_cast<std::int64_t>(i * 1e9 / rate));
    const std::int64_t t0 = mono_ns();
    auto ev = std::make_shared<store::StoredEvent>(sample_event(i));
    auto seq_out = std::make_shared<std::uint64_t>(0);
    // One write per report, through the group commit, as the service journals them.
    p.db->submit(
        [ev, seq_out](store::WriteTxn& txn) -> store::Status {
          auto seq = txn.append_event(*ev);
          if (!seq) return tl::unexpected(seq.error());
          *seq_out = *seq;
          return {};
        },
        [&, seq_out, t0](store::Status s) {
          if (!s) return;
          {
            std::lock_guard lock(mu);
            received_ns.emplace(*seq_out, t0);
          }
          last_seq = std::max(last_seq.load(), *seq_out);
          p.publisher->notify();
        });
  }
  const std::int64_t deadline = mono_ns() + 30'000'000'000LL;
  while (p.delivered() < total && mono_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::int64_t> samples;
  {
    std::lock_guard a(mu);
    std::lock_guard b(p.mu);
    for (const auto& [seq, t0] : received_ns) {
      auto it = p.delivered_ns.find(seq);
      if (it != p.delivered_ns.end()) samples.push_back(it->second - t0);
    }
  }
  auto summary = bench::summarize_ns(samples);
  std::cout << "  " << rate << " events/s for " << seconds
            << " s, report received -> Kafka delivery report: " << bench::describe(summary) << "\n";
  return {{"offered_per_s", rate},
          {"events", total},
          {"delivered", samples.size()},
          {"latency", bench::to_json(summary)}};
}

// Fixed offered rate through the API; latency API request -> NewOrderSingle at the simulator.
json bench_fix_path(bool with_kafka, int rate, double seconds) {
  std::unique_ptr<testing::MockCluster> kafka;
  systest::GatewayOptions gw;
  if (with_kafka) {
    kafka = std::make_unique<testing::MockCluster>(3);
    kafka->create_topic(kTopic, 6);
    gw.extra_gateway_toml = "\n[kafka]\nbootstrap_servers = \"" + kafka->bootstrap() +
                            "\"\ntopic = \"" + kTopic + "\"\n";
  }
  systest::Stack stack(systest::SimOptions{{"symbol = \"AAPL\"\naction = \"fill\""}}, gw);
  stack.start_sim();
  stack.start_gateway();
  const int threads = 8;
  const int total = static_cast<int>(rate * seconds);
  std::vector<std::int64_t> scheduled_us(total, 0);
  std::atomic<int> failures{0};
  const std::int64_t start_ns = mono_ns() + 100'000'000;
  const std::int64_t wall_at_start = bench::wall_us() + 100'000;
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", stack.api_port());
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);  // or Nagle and delayed ACKs stall every request ~40 ms
      for (int i = t; i < total; i += threads) {
        const std::int64_t at = start_ns + static_cast<std::int64_t>(i * 1e9 / rate);
        bench::sleep_until_ns(at);
        scheduled_us[i] = wall_at_start + (at - start_ns) / 1000;
        auto body = systest::Stack::order((with_kafka ? "k-" : "n-") + std::to_string(i));
        auto r = c.Post("/v1/orders", body.dump(), "application/json");
        if (!r || r->status != 201) failures++;
      }
    });
  }
  for (auto& c : clients) c.join();
  systest::wait_until(
      [&] { return stack.sim_messages("D").size() >= static_cast<std::size_t>(total); },
      std::chrono::seconds(30));
  std::vector<std::int64_t> samples;
  for (const auto& m : stack.sim_messages("D")) {
    const std::string id = m["cl_ord_id"];
    const int i = std::stoi(id.substr(2));
    if (i >= 0 && i < total)
      samples.push_back((m["ts_us"].get<std::int64_t>() - scheduled_us[i]) * 1000);
  }
  std::uint64_t events = 0;
  if (with_kafka) {
    systest::wait_until([&] { return stack.get("/v1/health").body["events"]["outbox_depth"] == 0; },
                        std::chrono::seconds(30));
    events = stack.get("/v1/health").body["events"]["last_seq"].get<std::uint64_t>();
  }
  stack.stop_gateway();
  auto summary = bench::summarize_ns(samples);
  std::cout << "  " << (with_kafka ? "with Kafka   " : "without Kafka") << ": " << rate
            << " orders/s, API -> NewOrderSingle at the simulator " << bench::describe(summary)
            << (with_kafka ? ", " + std::to_string(events) + " events published" : "") << "\n";
  return {{"kafka", with_kafka},
          {"offered_per_s", rate},
          {"orders", total},
          {"failures", failures.load()},
          {"events_published", events},
          {"latency", bench::to_json(summary)}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_events: the event pipeline against librdkafka's mock cluster"};
  std::string json_path;
  std::uint64_t backlog = 200000;
  std::uint64_t latency_rate = 5000;
  int fix_rate = 500;
  app.add_option("--json", json_path, "write the results here");
  app.add_option("--backlog", backlog, "events in the throughput run");
  app.add_option("--latency-rate", latency_rate, "events per second in the latency run");
  app.add_option("--fix-rate", fix_rate, "orders per second in the FIX path runs");
  CLI11_PARSE(app, argc, argv);
  try {
    json out;
    {
      testing::MockCluster kafka(3);
      kafka.create_topic(kTopic, 6);
      std::cout
          << "== events: store -> publisher -> Kafka (mock cluster, 3 brokers, 6 partitions)\n";
      out["publish_throughput"] = bench_throughput(kafka.bootstrap(), backlog);
    }
    {
      testing::MockCluster kafka(3);
      kafka.create_topic(kTopic, 6);
      out["publish_latency"] = bench_latency(kafka.bootstrap(), latency_rate, 5.0);
    }
    std::cout << "== the FIX path with and without Kafka (same run, same offered rate)\n";
    out["fix_path_without_kafka"] = bench_fix_path(false, fix_rate, 5.0);
    out["fix_path_with_kafka"] = bench_fix_path(true, fix_rate, 5.0);
    const double p99_without = out["fix_path_without_kafka"]["latency"]["p99_us"];
    const double p99_with = out["fix_path_with_kafka"]["latency"]["p99_us"];
    out["fix_path_p99_increase"] = bench::round_to(p99_with / p99_without - 1.0, 3);
    std::cout << "  publishing changes the order path's p99 by "
              << bench::round_to(100.0 * (p99_with / p99_without - 1.0), 1)
              << "% (target <= 10%)\n";
    if (!json_path.empty()) bench::write_json_file(json_path, out);
  } catch (const std::exception& e) {
    std::cerr << "bench_events: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
