// bench_intake: durable intake throughput and latency, end to end (docs/BENCHMARKS.md).
//
// Starts the real brokergw and brokersim on loopback (tests/system/harness.h, Stack). The
// simulator stays silent for the bench symbol, so only the order path is measured:
//   HTTP POST /v1/orders -> validated -> stored (synced group commit) -> 201
//                        -> dispatcher marks the send attempt (synced group commit)
//                        -> NewOrderSingle -> brokersim journals it ("ts_us", wall clock).
// Intake latency per order = journal ts_us - the client's send time (same host, same clock).
// API latency = the 201's arrival - the client's send time.
//
//   fixed: open loop at an offered rate; each order has a scheduled send time and latencies
//          count from it, so a client that falls behind cannot hide the delay (no coordinated
//          omission).
//   max:   closed loop, N keep-alive clients (one thread and one httplib::Client each) share
//          a fixed number of orders; tried for several N, the best is reported.
// Correctness while at it: every acknowledged (201) order reached the simulator exactly once,
// and no refused one did.
//
// Threads: main (set-up, journal, report) and the client threads of each phase.
#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bench_util.h"
#include "tests/system/harness.h"

namespace {

using namespace brokergw;
using bench::mono_ns;
using bench::wall_us;
using nlohmann::json;

constexpr const char* kSymbol = "BENCH";

// New lines of brokersim's journal, read incrementally; NewOrderSingle arrivals by ClOrdID.
// The journal is the one file named *journal.jsonl in the stack's directory (found on the
// first poll after the simulator created it).
class JournalTail {
 public:
  explicit JournalTail(std::string dir) : dir_(std::move(dir)) {}

  void poll() {
    if (path_.empty()) path_ = find_journal();
    if (path_.empty()) return;
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t start = 0;
    for (std::size_t nl = chunk.find('\n'); nl != std::string::npos; nl = chunk.find('\n', start)) {
      parse_line(std::string_view(chunk).substr(start, nl - start));
      start = nl + 1;
    }
    offset_ += start;  // an incomplete last line is read again next time
  }

  const std::vector<std::int64_t>* arrivals(const std::string& id) const {
    auto it = arrivals_.find(id);
    return it == arrivals_.end() ? nullptr : &it->second;
  }
  std::size_t count_phase(const std::string& phase) const {
    auto it = per_phase_.find(phase);
    return it == per_phase_.end() ? 0 : it->second;
  }
  const std::unordered_map<std::string, std::vector<std::int64_t>>& all() const {
    return arrivals_;
  }

 private:
  std::string find_journal() const {
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && name.ends_with("journal.jsonl")) found.push_back(e.path());
    }
    if (found.size() > 1) throw std::runtime_error("more than one simulator journal in " + dir_);
    return found.empty() ? std::string() : found.front();
  }

  void parse_line(std::string_view line) {
    // Cheap filter first: only NewOrderSingles matter here.
    if (line.find("\"msg_type\":\"D\"") == std::string_view::npos) return;
    json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j["cl_ord_id"].is_string()) return;
    const std::string id = j["cl_ord_id"].get<std::string>();
    arrivals_[id].push_back(j.value("ts_us", std::int64_t{0}));
    per_phase_[id.substr(0, id.find('-'))]++;
  }

  std::string dir_;
  std::string path_;
  std::size_t offset_ = 0;
  std::unordered_map<std::string, std::vector<std::int64_t>> arrivals_;
  std::map<std::string, std::size_t> per_phase_;
};

struct Sample {
  std::int64_t intended_us = 0;  // scheduled send time (fixed) or actual send time (max)
  std::int64_t sent_us = 0;
  std::int64_t done_us = 0;
  int status = 0;  // HTTP status; 0: no answer
};

struct Cpu {
  double gateway_ms = 0;
  double sim_ms = 0;
  double client_ms = 0;
  double system_ms = 0;  // every CPU, every process
};

// The simulator answers nothing for the bench symbol: only the order path is measured.
systest::SimOptions sim_options() {
  systest::SimOptions o;
  o.rules.push_back(std::string("name = \"bench-silent\"\nsymbol = \"") + kSymbol +
                    "\"\naction = \"silent\"");
  return o;
}

systest::GatewayOptions gateway_options(std::size_t queue_capacity) {
  systest::GatewayOptions o;
  o.queue_capacity = queue_capacity;
  // Appended to the [brokers.sim] table: silent orders must not time out (and trigger status
  // queries) while the benchmark runs.
  o.extra_gateway_toml = "ack_timeout_ms = 3600000\n";
  return o;
}

pid_t find_one(const std::string& dir, const std::string& binary) {
  std::vector<pid_t> found;
  for (pid_t pid : bench::find_processes(dir)) {
    if (bench::process_command_line(pid).rfind(binary, 0) == 0) found.push_back(pid);
  }
  if (found.size() != 1) throw std::runtime_error("cannot find the one " + binary + " of " + dir);
  return found.front();
}

class IntakeBench {
 public:
  explicit IntakeBench(std::size_t queue_capacity)
      : stack_(sim_options(), gateway_options(queue_capacity)), journal_(stack_.dir().path()) {
    stack_.start_sim();
    stack_.start_gateway();
    // The processes of this stack: their command lines hold the stack's directory.
    gateway_pid_ = find_one(stack_.dir().path(), BROKERGW_BIN);
    sim_pid_ = find_one(stack_.dir().path(), BROKERSIM_BIN);
  }

  // rate_per_s == 0: closed loop.
  json run_phase(const std::string& phase, std::size_t count, int clients, double rate_per_s) {
    std::vector<std::string> ids(count);
    std::vector<std::string> bodies(count);
    for (std::size_t i = 0; i < count; ++i) {
      ids[i] = phase + "-" + std::to_string(i);
      bodies[i] = systest::Stack::order(ids[i], kSymbol, "100").dump();
    }
    std::vector<Sample> samples(count);
    std::atomic<std::size_t> next{0};
    const Cpu cpu_before = cpu();
    const std::int64_t phase_start_ns = mono_ns();
    const std::int64_t lead_ns = 20'000'000;
    const std::int64_t t0_mono = mono_ns() + lead_ns;
    const std::int64_t t0_wall = wall_us() + lead_ns / 1000;
    const double interval_ns = rate_per_s > 0 ? 1e9 / rate_per_s : 0.0;

    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&] {
        httplib::Client http("127.0.0.1", stack_.api_port());
        http.set_keep_alive(true);
        http.set_tcp_nodelay(true);
        http.set_connection_timeout(5, 0);
        http.set_read_timeout(60, 0);
        http.set_write_timeout(60, 0);
        for (std::size_t i = next++; i < count; i = next++) {
          Sample& s = samples[i];
          if (rate_per_s > 0) {
            const auto offset_ns = static_cast<std::int64_t>(static_cast<double>(i) * interval_ns);
            bench::sleep_until_ns(t0_mono + offset_ns);
            s.intended_us = t0_wall + offset_ns / 1000;
            s.sent_us = wall_us();
          } else {
            s.sent_us = s.intended_us = wall_us();
          }
          auto r = http.Post("/v1/orders", bodies[i], "application/json");
          s.done_us = wall_us();
          s.status = r ? r->status : 0;
        }
      });
    }
    for (auto& t : threads) t.join();

    std::size_t acked = 0;
    std::map<int, std::size_t> statuses;
    for (const auto& s : samples) {
      statuses[s.status]++;
      if (s.status == 201) ++acked;
    }
    // Wait until every acknowledged order reached the simulator (or progress stops).
    std::size_t seen = 0;
    std::int64_t last_progress = mono_ns();
    while (true) {
      journal_.poll();
      const std::size_t now_seen = journal_.count_phase(phase);
      if (now_seen >= acked) break;
      if (now_seen != seen) {
        seen = now_seen;
        last_progress = mono_ns();
      }
      if (mono_ns() - last_progress > 15'000'000'000) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const Cpu cpu_after = cpu();
    const std::int64_t phase_end_ns = mono_ns();

    std::vector<std::int64_t> api_ns;
    std::vector<std::int64_t> e2e_ns;
    std::vector<std::int64_t> send_lag_ns;
    std::size_t reached = 0, duplicated = 0, missing = 0, unacked_arrived = 0,
                unanswered_arrived = 0;
    std::int64_t first_us = samples.empty() ? 0 : samples.front().intended_us;
    std::int64_t last_done_us = first_us;
    std::int64_t last_arrival_us = first_us;
    for (std::size_t i = 0; i < count; ++i) {
      const Sample& s = samples[i];
      first_us = std::min(first_us, s.intended_us);
      const auto* arr = journal_.arrivals(ids[i]);
      if (s.status != 201) {
        // A refused order (4xx/5xx) must never reach the broker. One the client got no answer
        // for (status 0) may have been stored: it is counted, not an error.
        if (arr != nullptr) ++(s.status == 0 ? unanswered_arrived : unacked_arrived);
        continue;
      }
      last_done_us = std::max(last_done_us, s.done_us);
      api_ns.push_back((s.done_us - s.intended_us) * 1000);
      send_lag_ns.push_back((s.sent_us - s.intended_us) * 1000);
      if (arr == nullptr) {
        ++missing;
        continue;
      }
      ++reached;
      if (arr->size() > 1) ++duplicated;
      e2e_ns.push_back((arr->front() - s.intended_us) * 1000);
      last_arrival_us = std::max(last_arrival_us, arr->front());
    }
    const double ack_span_s = static_cast<double>(last_done_us - first_us) / 1e6;
    const double sim_span_s = static_cast<double>(last_arrival_us - first_us) / 1e6;
    const double acked_per_s = ack_span_s > 0 ? static_cast<double>(acked) / ack_span_s : 0;
    const double reached_per_s = sim_span_s > 0 ? static_cast<double>(reached) / sim_span_s : 0;
    const auto api = bench::summarize_ns(std::move(api_ns));
    const auto e2e = bench::summarize_ns(std::move(e2e_ns));
    const auto lag = bench::summarize_ns(std::move(send_lag_ns));

    const double n = std::max<double>(1.0, static_cast<double>(acked));
    const double gw_cpu = cpu_after.gateway_ms - cpu_before.gateway_ms;
    const double sim_cpu = cpu_after.sim_ms - cpu_before.sim_ms;
    const double client_cpu = cpu_after.client_ms - cpu_before.client_ms;
    // Everything else that ran meanwhile (kernel threads, other users of the machine), as a
    // share of all CPUs over the phase's wall time.
    const double wall_ms = static_cast<double>(phase_end_ns - phase_start_ns) / 1e6;
    const double other_share =
        std::max(0.0, cpu_after.system_ms - cpu_before.system_ms - gw_cpu - sim_cpu - client_cpu) /
        (wall_ms * static_cast<double>(std::thread::hardware_concurrency()));
    json statuses_json = json::object();
    for (auto [code, k] : statuses) statuses_json[std::to_string(code)] = k;

    std::cout << "intake " << phase << " (" << clients << " clients"
              << (rate_per_s > 0
                      ? ", offered " + std::to_string(static_cast<long>(rate_per_s)) + "/s"
                      : std::string(", closed loop"))
              << "): " << acked << "/" << count << " acknowledged, "
              << static_cast<long>(acked_per_s) << " acked/s, " << static_cast<long>(reached_per_s)
              << " reached sim/s\n"
              << "    API->sim " << bench::describe(e2e) << "\n"
              << "    API->201 " << bench::describe(api) << "\n"
              << "    CPU per order: gateway " << bench::round_to(gw_cpu * 1000 / n, 1)
              << " us, sim " << bench::round_to(sim_cpu * 1000 / n, 1) << " us, client "
              << bench::round_to(client_cpu * 1000 / n, 1) << " us; other load "
              << static_cast<int>(other_share * 100) << "% of the CPUs; exactly once: "
              << (missing == 0 && duplicated == 0 && unacked_arrived == 0 ? "yes" : "NO") << "\n";

    return {{"phase", phase},
            {"clients", clients},
            {"offered_per_s", rate_per_s},
            {"orders", count},
            {"acknowledged", acked},
            {"http_status", statuses_json},
            {"acked_per_s", bench::round_to(acked_per_s, 1)},
            {"reached_sim_per_s", bench::round_to(reached_per_s, 1)},
            {"api_to_sim_latency", bench::to_json(e2e)},
            {"api_response_latency", bench::to_json(api)},
            {"client_send_lag", bench::to_json(lag)},
            {"seconds", bench::round_to(sim_span_s, 3)},
            {"cpu_us_per_order",
             {{"gateway", bench::round_to(gw_cpu * 1000 / n, 1)},
              {"sim", bench::round_to(sim_cpu * 1000 / n, 1)},
              {"client", bench::round_to(client_cpu * 1000 / n, 1)}}},
            {"other_cpu_share", bench::round_to(other_share, 3)},
            {"exactly_once",
             {{"reached", reached},
              {"missing", missing},
              {"duplicated", duplicated},
              {"refused_but_arrived", unacked_arrived},
              {"unanswered_but_arrived", unanswered_arrived},
              {"ok", missing == 0 && duplicated == 0 && unacked_arrived == 0}}}};
  }

  // Over the whole run: any ClOrdID the simulator saw more than once.
  std::size_t duplicates_in_journal() {
    journal_.poll();
    std::size_t d = 0;
    for (const auto& [id, arr] : journal_.all()) d += arr.size() > 1 ? 1 : 0;
    return d;
  }

  void stop() {
    stack_.stop_gateway();
    stack_.stop_sim();
  }

 private:
  Cpu cpu() const {
    return {bench::process_cpu_ms(gateway_pid_), bench::process_cpu_ms(sim_pid_),
            bench::process_cpu_ms(::getpid()), bench::system_busy_ms()};
  }

  systest::Stack stack_;
  JournalTail journal_;
  pid_t gateway_pid_ = 0;
  pid_t sim_pid_ = 0;
};

// The HTTP floor: the same client against an in-process cpp-httplib server set up like the
// gateway's API (thread pool, keep-alive, TCP_NODELAY) whose handler only echoes the body with
// 201. What HTTP/1.1, one request per order, costs on this machine before any gateway work.
json http_floor(int clients, std::size_t count, std::size_t server_threads) {
  httplib::Server server;
  server.new_task_queue = [server_threads] { return new httplib::ThreadPool(server_threads); };
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1000);
  server.Post("/v1/orders", [](const httplib::Request& req, httplib::Response& res) {
    res.status = 201;
    res.set_content(req.body, "application/json");
  });
  // As the gateway does (gateway/api/http_api.cpp): raise Debian's listen backlog of 5.
  int listen_fd = -1;
  server.set_socket_options([&listen_fd](int fd) {
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listen_fd = fd;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) throw std::runtime_error("http floor: cannot bind 127.0.0.1");
  if (listen_fd >= 0) ::listen(listen_fd, SOMAXCONN);
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  const std::string body = systest::Stack::order("floor-0", kSymbol, "100").dump();
  std::vector<std::int64_t> latencies(count);
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> ok{0};
  const double cpu_before = bench::process_cpu_ms(::getpid());
  const std::int64_t start = mono_ns();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client http("127.0.0.1", port);
      http.set_keep_alive(true);
      http.set_tcp_nodelay(true);
      for (std::size_t i = next++; i < count; i = next++) {
        const std::int64_t t0 = mono_ns();
        auto r = http.Post("/v1/orders", body, "application/json");
        latencies[i] = mono_ns() - t0;
        if (r && r->status == 201) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::int64_t end = mono_ns();
  const double cpu_ms = bench::process_cpu_ms(::getpid()) - cpu_before;
  server.stop();
  listener.join();
  const double rate = static_cast<double>(ok.load()) / (static_cast<double>(end - start) / 1e9);
  const double cpu_us = cpu_ms * 1000.0 / static_cast<double>(std::max<std::size_t>(1, ok));
  const auto lat = bench::summarize_ns(std::move(latencies));
  std::cout << "HTTP floor (" << clients << " clients, echo server, " << server_threads
            << " threads): " << static_cast<long>(rate) << " requests/s, "
            << bench::round_to(cpu_us, 1) << " us CPU per request (client + server); "
            << bench::describe(lat) << "\n";
  return {{"clients", clients},
          {"server_threads", server_threads},
          {"requests", count},
          {"ok", ok.load()},
          {"requests_per_s", bench::round_to(rate, 1)},
          {"cpu_us_per_request", bench::round_to(cpu_us, 1)},
          {"latency", bench::to_json(lat)}};
}

std::vector<int> parse_levels(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoi(item));
  if (out.empty()) throw std::runtime_error("--max-clients: empty list");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_intake: durable intake throughput and latency, API -> simulator"};
  std::string json_path;
  double rate = 1000;
  double fixed_seconds = 5;
  int fixed_clients = 16;
  std::string max_clients = "8,32,64";
  std::size_t max_orders = 30000;
  std::size_t warmup_orders = 1000;
  std::size_t http_floor_requests = 30000;
  app.add_option("--json", json_path, "write the results to this file");
  app.add_option("--rate", rate, "offered rate of the fixed phase, orders/s")
      ->check(CLI::PositiveNumber);
  app.add_option("--fixed-seconds", fixed_seconds, "duration of the fixed-rate phase")
      ->check(CLI::PositiveNumber);
  app.add_option("--fixed-clients", fixed_clients, "sender threads of the fixed-rate phase")
      ->check(CLI::Range(1, 1024));
  app.add_option("--max-clients", max_clients, "client counts of the maximum phase, e.g. 8,32,64");
  app.add_option("--max-orders", max_orders, "orders per client count in the maximum phase")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--warmup-orders", warmup_orders, "orders sent first and not reported");
  app.add_option("--http-floor-requests", http_floor_requests,
                 "requests of the HTTP floor (echo server); 0 skips it");
  CLI11_PARSE(app, argc, argv);

  try {
    const std::vector<int> levels = parse_levels(max_clients);
    const auto fixed_count = static_cast<std::size_t>(rate * fixed_seconds);
    // Queue bound above any phase's order count, so no order is refused as broker_busy.
    IntakeBench bench(std::max<std::size_t>({10000, fixed_count * 2, max_orders * 2}));
    json out;
    out["simulator_rule"] = std::string("symbol ") + kSymbol + ": silent";
    if (warmup_orders > 0) out["warmup"] = bench.run_phase("warmup", warmup_orders, 8, 0);
    out["fixed"] = bench.run_phase("fixed", fixed_count, fixed_clients, rate);
    json levels_json = json::array();
    std::size_t best = 0;
    for (std::size_t k = 0; k < levels.size(); ++k) {
      levels_json.push_back(
          bench.run_phase("max" + std::to_string(levels[k]), max_orders, levels[k], 0));
      // Best by the rate at which orders reach the broker: the end of the measured path.
      if (levels_json[k]["reached_sim_per_s"].get<double>() >
          levels_json[best]["reached_sim_per_s"].get<double>()) {
        best = k;
      }
    }
    out["max_levels"] = levels_json;
    // After the gateway phases, with the gateway idle: same client, same server library.
    if (http_floor_requests > 0) out["http_floor"] = http_floor(32, http_floor_requests, 32);
    out["max"] = levels_json[best];
    bool ok = true;
    for (const auto* key : {"warmup", "fixed"}) {
      if (out.contains(key)) ok = ok && out[key]["exactly_once"]["ok"].get<bool>();
    }
    for (const auto& l : levels_json) ok = ok && l["exactly_once"]["ok"].get<bool>();
    const std::size_t dups = bench.duplicates_in_journal();
    out["duplicates_in_journal"] = dups;
    out["exactly_once"] = ok && dups == 0;
    bench.stop();
    std::cout << "intake best maximum: " << out["max"]["reached_sim_per_s"]
              << " orders/s reaching the simulator (" << out["max"]["clients"]
              << " clients); every acknowledged order reached the simulator exactly once: "
              << (out["exactly_once"].get<bool>() ? "yes" : "NO") << "\n";
    if (!json_path.empty()) bench::write_json_file(json_path, out);
    return out["exactly_once"].get<bool>() ? 0 : 3;
  } catch (const std::exception& e) {
    std::cerr << "bench_intake: " << e.what() << "\n";
    return 1;
  }
}
