// System-test harness: runs the real brokergw and brokersim executables as child processes on
// loopback, with their own temp state, and talks to them over real TCP (HTTP API, FIX).
// Used from the test's main thread only. Every wait has a deadline; nothing sleeps blindly.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace brokergw::systest {

using namespace std::chrono_literals;

// A free TCP port on 127.0.0.1 (bound once and released; tests run their own processes only).
int free_port();

// A fresh directory under /tmp, removed when destroyed (unless BROKERGW_KEEP_TMP=1).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void write_file(const std::string& path, const std::string& content);
std::string read_file(const std::string& path);

// A child process with stdout+stderr appended to a log file.
class Process {
 public:
  Process(std::vector<std::string> argv, std::string log_path);
  ~Process();  // SIGKILL if still running
  pid_t pid() const { return pid_; }
  bool running();
  void signal(int sig);
  // Waits for exit; returns the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  void kill9();
  const std::string& log_path() const { return log_path_; }
  std::string log() const;

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> status_;
};

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = 20ms);

struct HttpResult {
  int status = 0;  // 0: connection failed
  nlohmann::json body;
  std::string raw;
};

// A simulator rule in TOML form, e.g. R"(symbol = "AAPL"
// action = "fill"
// fills = 3)".
struct SimOptions {
  SimOptions() = default;
  SimOptions(std::vector<std::string> rules_, std::vector<std::string> globals_ = {})
      : rules(std::move(rules_)), globals(std::move(globals_)) {}
  std::vector<std::string> rules;
  std::vector<std::string> globals;  // top-level TOML lines, e.g. "control_file = \"...\""
};

struct GatewayOptions {
  std::size_t queue_capacity = 10000;
  std::string extra_gateway_toml;  // appended to the config file
  std::string api_toml;            // appended to the [api] table
  std::string broker_toml;         // appended to every [brokers.<name>] table
  std::string log_level = "info";  // [gateway] log_level; "debug" also logs every FIX message
};

// Simulators and one gateway wired together: broker "sim" is simulator 0, "sim1" is
// simulator 1, and so on.
class Stack {
 public:
  explicit Stack(SimOptions sim = {}, GatewayOptions gw = {});
  Stack(std::vector<SimOptions> sims, GatewayOptions gw);
  ~Stack();

  static std::string broker_name(std::size_t i) {
    return i == 0 ? "sim" : "sim" + std::to_string(i);
  }
  void start_sim();  // starts every simulator
  void start_sim(std::size_t i);
  Process& sim_process(std::size_t i = 0) { return *sims_[i].process; }
  void start_gateway();  // waits until the API answers and the session is logged on
  void stop_gateway();   // SIGTERM, expects a clean exit
  void kill_gateway();   // SIGKILL
  void stop_sim();

  HttpResult post(const std::string& path, const nlohmann::json& body);
  HttpResult post_raw(const std::string& path, const std::string& body);
  HttpResult get(const std::string& path);

  // A valid new-order request with the given id (tests change fields as they need).
  static nlohmann::json order(const std::string& id, const std::string& symbol = "AAPL",
                              const std::string& qty = "100");
  // Polls GET /v1/orders/{id} until its state is `state`.
  bool wait_for_state(const std::string& id, const std::string& state,
                      std::chrono::milliseconds timeout = 15s);

  // NewOrderSingles the simulator received, by ClOrdID (from its journal).
  std::map<std::string, int> sim_new_orders(std::size_t i = 0) const;
  // Journal entries of one message type, e.g. "H" (status requests), as parsed JSON.
  std::vector<nlohmann::json> sim_messages(const std::string& msg_type, std::size_t i = 0) const;
  std::string sim_journal(std::size_t i = 0) const;

  const TempDir& dir() const { return dir_; }
  int api_port() const { return api_port_; }
  std::string gateway_log() const;
  std::string sim_log(std::size_t i = 0) const;

 private:
  struct Sim {
    SimOptions options;
    int fix_port = 0;
    std::unique_ptr<Process> process;
  };
  std::string sim_file(std::size_t i, const std::string& name) const {
    return dir_.file("sim" + std::to_string(i) + "-" + name);
  }
  TempDir dir_;
  std::vector<Sim> sims_;
  GatewayOptions gw_opts_;
  int api_port_ = 0;
  std::unique_ptr<Process> gateway_;
  int gateway_starts_ = 0;
};

}  // namespace brokergw::systest
