#include "tests/system/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace brokergw::systest {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "brokergw-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  const char* keep = std::getenv("BROKERGW_KEEP_TMP");
  if (keep && std::string(keep) == "1") return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Process::Process(std::vector<std::string> argv, std::string log_path)
    : log_path_(std::move(log_path)) {
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (running()) kill9();
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
  }
  return r == 0;
}

void Process::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  wait_until([this] { return !running(); }, timeout, 10ms);
  return status_;
}

void Process::kill9() {
  ::kill(pid_, SIGKILL);
  wait(10s);
}

std::string Process::log() const { return read_file(log_path_); }

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(poll);
  }
}

namespace {

std::string source_dir() { return BROKERGW_SOURCE_DIR; }

HttpResult to_result(const httplib::Result& r) {
  HttpResult out;
  if (!r) return out;
  out.status = r->status;
  out.raw = r->body;
  out.body = nlohmann::json::parse(r->body, nullptr, false);
  return out;
}

}  // namespace

Stack::Stack(SimOptions sim, GatewayOptions gw) : Stack(std::vector<SimOptions>{sim}, gw) {}

Stack::Stack(std::vector<SimOptions> sims, GatewayOptions gw) : gw_opts_(std::move(gw)) {
  for (auto& o : sims) sims_.push_back(Sim{std::move(o), free_port(), nullptr});
  api_port_ = free_port();
}

Stack::~Stack() {
  if (gateway_) gateway_->kill9();
  for (auto& sim : sims_) {
    if (sim.process) {
      sim.process->signal(SIGCONT);  // a test may have frozen it
      sim.process->kill9();
    }
  }
}

void Stack::start_sim() {
  for (std::size_t i = 0; i < sims_.size(); ++i) start_sim(i);
}

void Stack::start_sim(std::size_t i) {
  Sim& sim = sims_[i];
  std::ostringstream toml;
  toml << "listen_address = \"127.0.0.1\"\n"
       << "port = " << sim.fix_port << "\n"
       << "sender_comp_id = \"SIMBROKER" << i << "\"\n"
       << "target_comp_id = \"BROKERGW\"\n"
       << "data_dictionary = \"" << source_dir() << "/fixspec/FIX44.brokergw.xml\"\n"
       << "state_dir = \"" << sim_file(i, "state") << "\"\n"
       << "journal_file = \"" << sim_file(i, "journal.jsonl") << "\"\n";
  for (const auto& line : sim.options.globals) toml << line << "\n";
  for (const auto& rule : sim.options.rules) toml << "\n[[rules]]\n" << rule << "\n";
  write_file(sim_file(i, "sim.toml"), toml.str());
  const std::string log = sim_file(i, "sim.log");
  const std::size_t before = read_file(log).size();
  sim.process = std::make_unique<Process>(
      std::vector<std::string>{BROKERSIM_BIN, "--config", sim_file(i, "sim.toml")}, log);
  if (!wait_until([&] { return read_file(log).find("listening", before) != std::string::npos; },
                  15s)) {
    throw std::runtime_error("brokersim did not start:\n" + read_file(log));
  }
}

void Stack::start_gateway() {
  std::ostringstream toml;
  toml << "[gateway]\ninstance_id = \"gw-test\"\nstate_dir = \"" << dir_.file("gw-state")
       << "\"\nlog_level = \"" << gw_opts_.log_level << "\"\n\n"
       << "[api]\nlisten_address = \"127.0.0.1\"\nlisten_port = " << api_port_ << "\n"
       << gw_opts_.api_toml << "\n\n";
  for (std::size_t i = 0; i < sims_.size(); ++i) {
    toml << "[brokers." << broker_name(i)
         << "]\ntype = \"fix\"\nhost = \"127.0.0.1\"\nport = " << sims_[i].fix_port
         << "\nsender_comp_id = \"BROKERGW\"\ntarget_comp_id = \"SIMBROKER" << i << "\"\n"
         << "data_dictionary = \"" << source_dir() << "/fixspec/FIX44.brokergw.xml\"\n"
         << "heartbeat_interval_s = 5\nreconnect_interval_s = 1\n"
         << "queue_capacity = " << gw_opts_.queue_capacity << "\n"
         << gw_opts_.broker_toml << "\n\n";
  }
  toml << gw_opts_.extra_gateway_toml;
  write_file(dir_.file("gw.toml"), toml.str());
  ++gateway_starts_;
  gateway_ = std::make_unique<Process>(
      std::vector<std::string>{BROKERGW_BIN, "--config", dir_.file("gw.toml")},
      dir_.file("gw.log"));
  bool up = wait_until(
      [&] {
        HttpResult h = get("/v1/health");
        return h.status == 200 && h.body.is_object() && h.body["status"] == "ok";
      },
      20s, 50ms);
  if (!up) throw std::runtime_error("brokergw did not become healthy:\n" + gateway_log());
}

void Stack::stop_gateway() {
  gateway_->signal(SIGTERM);
  auto st = gateway_->wait(20s);
  if (!st || *st != 0) {
    throw std::runtime_error("brokergw did not stop cleanly:\n" + gateway_log());
  }
}

void Stack::kill_gateway() { gateway_->kill9(); }

void Stack::stop_sim() {
  for (auto& sim : sims_) {
    sim.process->signal(SIGTERM);
    sim.process->wait(10s);
  }
}

HttpResult Stack::post(const std::string& path, const nlohmann::json& body) {
  return post_raw(path, body.dump());
}

HttpResult Stack::post_raw(const std::string& path, const std::string& body) {
  httplib::Client c("127.0.0.1", api_port_);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(10, 0);
  return to_result(c.Post(path, body, "application/json"));
}

HttpResult Stack::get(const std::string& path) {
  httplib::Client c("127.0.0.1", api_port_);
  c.set_connection_timeout(2, 0);
  c.set_read_timeout(10, 0);
  return to_result(c.Get(path));
}

nlohmann::json Stack::order(const std::string& id, const std::string& symbol,
                            const std::string& qty) {
  return {{"client_order_id", id}, {"account", "ACC-1"},      {"broker", "sim"},
          {"symbol", symbol},      {"side", "buy"},           {"quantity", qty},
          {"order_type", "limit"}, {"limit_price", "187.25"}, {"time_in_force", "day"}};
}

bool Stack::wait_for_state(const std::string& id, const std::string& state,
                           std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        HttpResult r = get("/v1/orders/" + id);
        return r.status == 200 && r.body["state"] == state;
      },
      timeout, 20ms);
}

std::vector<nlohmann::json> Stack::sim_messages(const std::string& msg_type, std::size_t i) const {
  std::vector<nlohmann::json> out;
  std::istringstream in(sim_journal(i));
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.value("msg_type", "") == msg_type) out.push_back(std::move(j));
  }
  return out;
}

std::map<std::string, int> Stack::sim_new_orders(std::size_t i) const {
  std::map<std::string, int> counts;
  for (const auto& j : sim_messages("D", i)) counts[j.value("cl_ord_id", "")]++;
  return counts;
}

std::string Stack::sim_journal(std::size_t i) const {
  return read_file(sim_file(i, "journal.jsonl"));
}
std::string Stack::gateway_log() const { return read_file(dir_.file("gw.log")); }
std::string Stack::sim_log(std::size_t i) const { return read_file(sim_file(i, "sim.log")); }

}  // namespace brokergw::systest
