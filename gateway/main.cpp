// brokergw: the gateway process. Loads one config file, opens the store, starts one adapter
// per broker, recovers unfinished orders, serves the internal API, and shuts down cleanly on
// SIGTERM/SIGINT (API first, so no order is accepted that cannot be stored; then dispatchers,
// sessions and finally the store, which drains its queue). `brokergw session ...` is the
// operator's client of a running gateway's admin API instead (session_cli.h).
#include <signal.h>
#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "adapters/fix/fix_adapter.h"
#include "adapters/kafka/kafka_sink.h"
#include "gateway/api/http_api.h"
#include "gateway/config/config.h"
#include "gateway/events/notifier.h"
#include "gateway/events/publisher.h"
#include "gateway/events/retention.h"
#include "gateway/service/order_service.h"
#include "gateway/session_cli.h"
#include "store/store.h"

using namespace brokergw;

namespace {

std::string read_token(const std::string& path) {
  if (path.empty()) return {};
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("brokergw");
  spdlog::set_default_logger(logger);
  // One line per event, UTC, with the thread: easy to grep and to ship to a log pipeline.
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ [%t] %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"brokergw: broker FIX gateway"};
  std::string config_path;
  bool print_doc = false;
  bool check_only = false;
  app.add_option("-c,--config", config_path, "configuration file (TOML)");
  app.add_flag("--print-config-doc", print_doc, "print the configuration reference (Markdown)");
  app.add_flag("--check-config", check_only, "validate the configuration and exit");
  cli::SessionCommand session_command;
  CLI::App* session = cli::add_session_commands(app, session_command);
  CLI11_PARSE(app, argc, argv);
  if (session->parsed()) return cli::run_session_command(session_command);

  if (print_doc) {
    std::cout << config::configuration_reference_markdown();
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "brokergw: --config is required\n";
    return 2;
  }
  auto loaded = config::load_config_file(config_path);
  if (!loaded) {
    std::cerr << "brokergw: invalid configuration " << config_path << ":\n";
    for (const auto& e : loaded.error()) std::cerr << "  " << e.to_string() << "\n";
    return 2;
  }
  const config::Config& cfg = *loaded;
  if (check_only) {
    std::cout << "configuration " << cfg.config_path << " is valid\n";
    return 0;
  }
  setup_logging(cfg.log_level);

  // Block the shutdown signals in every thread; main waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(cfg.state_dir, ec);
  if (ec) {
    spdlog::critical("cannot create state_dir {}: {}", cfg.state_dir, ec.message());
    return 1;
  }
  store::LmdbOptions store_options;
  store_options.directory = (std::filesystem::path(cfg.state_dir) / "store").string();
  store_options.map_size_bytes = cfg.store_map_size_mb * 1024ull * 1024ull;
  store_options.max_batch = cfg.store_max_batch;
  auto opened = store::open_lmdb_store(store_options);
  if (!opened) {
    spdlog::critical("cannot open store: {}", opened.error().detail);
    return 1;
  }
  std::unique_ptr<store::Store> db = std::move(*opened);

  std::vector<service::OrderService::BrokerLaneConfig> lanes;
  for (const auto& b : cfg.brokers) {
    auto adapter = adapters::fix::make_fix_adapter(b, cfg.state_dir, *db);
    if (!adapter) {
      spdlog::critical("{}", adapter.error());
      return 1;
    }
    service::BrokerPolicy policy;
    policy.queue_capacity = b.queue_capacity;
    core::ResolutionPolicy& rp = policy.rules.policy;
    rp.strategy =
        core::strategy_from_string(b.unknown_resolution).value_or(core::Strategy::kStatusQuery);
    rp.ack_timeout_ms = b.ack_timeout_ms;
    rp.backoff = {.base_ms = b.retry_base_ms,
                  .cap_ms = b.retry_cap_ms,
                  .max_attempts = b.retry_max_attempts,
                  .jitter_pct = b.retry_jitter_pct};
    rp.stale_order_age_ms = b.stale_order_age_ms;
    rp.query_on_reconnect = b.query_on_reconnect;
    policy.rules.caps.status_query = b.status_query_supported;
    policy.max_messages_per_s = b.max_messages_per_s;
    policy.resolution_max_per_s = b.resolution_max_per_s;
    policy.resolution_max_in_flight = b.resolution_max_in_flight;
    lanes.push_back({std::move(*adapter), policy});
  }

  // Events: journaled by the service, published to Kafka by the outbox publisher (when
  // configured), served to pollers by the API, compacted by the retention job.
  events::EventNotifier notifier;
  const bool kafka_enabled = !cfg.kafka_bootstrap_servers.empty();
  events::OutboxPublisher publisher(*db, {.instance_id = cfg.instance_id});
  std::unique_ptr<events::EventSink> sink;
  if (kafka_enabled) {
    auto made =
        adapters::kafka::make_kafka_sink({.bootstrap_servers = cfg.kafka_bootstrap_servers,
                                          .topic = cfg.kafka_topic,
                                          .client_id = cfg.kafka_client_id,
                                          .queue_max_messages = cfg.kafka_queue_max_messages,
                                          .linger_ms = cfg.kafka_linger_ms,
                                          .extra = {}},
                                         publisher.delivery_callback());
    if (!made) {
      spdlog::critical("kafka: {}", made.error());
      return 1;
    }
    sink = std::move(*made);
    notifier.set_listener([&publisher] { publisher.notify(); });
    if (auto s = publisher.start(*sink); !s) {
      spdlog::critical("events: cannot start the publisher: {}", s.error().detail);
      return 1;
    }
  } else {
    spdlog::warn("kafka.bootstrap_servers is not set: events are served by the polling API only");
  }
  events::RetentionJob retention(
      *db, service::system_now_us,
      {.events_retention = std::chrono::hours(cfg.events_retention_hours),
       .dedup_retention = std::chrono::hours(cfg.events_dedup_retention_hours),
       .kafka_enabled = kafka_enabled});
  retention.start();

  service::OrderService orders(*db, std::move(lanes), service::system_now_us, notifier);
  orders.start();

  auto event_status = [&]() {
    api::HttpApi::EventStatus st;
    st.kafka_enabled = kafka_enabled;
    if (kafka_enabled) {
      events::PublisherStats ps = publisher.stats();
      st.kafka_healthy = ps.sink_healthy;
      st.published_through = ps.acked_through;
      st.delivered = ps.delivered;
      st.failed = ps.failed;
    }
    return st;
  };
  const std::string admin_token = read_token(cfg.api_admin_token_file);
  if (admin_token.empty()) {
    spdlog::info("api: no api.admin_token_file: the admin API (/admin/v1) answers 403");
  }
  api::HttpApi http(orders, cfg, read_token(cfg.api_token_file), event_status, admin_token);
  if (auto started = http.start(); !started) {
    spdlog::critical("{}", started.error());
    orders.stop();
    publisher.stop();
    db->close();
    return 1;
  }
  spdlog::info("brokergw {} ready (state in {})", cfg.instance_id, cfg.state_dir);
  sd_notify(0, "READY=1");

  // Watchdog pings come from their own thread, so a stuck main thread is not hidden by them;
  // the store and API threads are what matter, and a stuck store stalls the API too.
  std::atomic<bool> running{true};
  std::thread watchdog;
  std::uint64_t watchdog_us = 0;
  if (sd_watchdog_enabled(0, &watchdog_us) > 0) {
    watchdog = std::thread([&] {
      while (running) {
        sd_notify(0, "WATCHDOG=1");
        std::this_thread::sleep_for(std::chrono::microseconds(watchdog_us / 2));
      }
    });
  }

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("signal {} received: shutting down", sig);
  sd_notify(0, "STOPPING=1");
  http.stop();
  notifier.close();
  orders.stop();
  retention.stop();
  publisher.stop();  // flushes what Kafka takes within a bound, persists the cursor
  sink.reset();
  db->close();
  running = false;
  if (watchdog.joinable()) watchdog.join();
  spdlog::info("brokergw stopped cleanly");
  return 0;
}
