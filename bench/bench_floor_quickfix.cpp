// bench_floor_quickfix: the FIX floor (docs/BENCHMARKS.md). One process holds a QuickFIX
// SocketInitiator and a SocketAcceptor on loopback, FIX 4.4, MemoryStore on both sides, no
// log. Both sides load our dictionary (fixspec/FIX44.brokergw.xml) and validate what they
// receive, as the gateway and brokersim do. The main thread sends NewOrderSingles with the
// fields the gateway sends (adapters/fix/fix_mapping.cpp); the acceptor's fromApp stamps each
// arrival.
//
//   fixed: an open-loop offered rate; latency is counted from each message's scheduled send
//          time, so a stalled sender cannot hide its own delay (no coordinated omission).
//   max:   as fast as one thread can send, with at most `window` messages in flight (sent, not
//          yet received) so memory stays bounded; received/s is the floor.
//
// Threads: main (sender), QuickFIX's initiator thread and acceptor thread (callbacks).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <quickfix/Application.h>
#include <quickfix/Fields.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <CLI/CLI.hpp>

#include "bench/bench_util.h"
#include "sim/loopback_bind.h"

namespace {

using namespace brokergw;
using bench::mono_ns;

// Arrival stamps by message index (the ClOrdID is "Q<index>").
class Receiver final : public FIX::Application {
 public:
  explicit Receiver(std::size_t capacity) : recv_ns_(capacity) {}

  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {}
  void onLogout(const FIX::SessionID&) override {}
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& msg,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    const std::int64_t now = mono_ns();
    const std::string& id = msg.getField(FIX::FIELD::ClOrdID);
    std::size_t index = 0;
    if (id.size() > 1) std::from_chars(id.data() + 1, id.data() + id.size(), index);
    if (index < recv_ns_.size() && recv_ns_[index] == 0) {
      recv_ns_[index] = now;
    } else {
      unexpected_++;
    }
    received_.fetch_add(1, std::memory_order_release);
  }

  std::uint64_t received() const { return received_.load(std::memory_order_acquire); }
  std::uint64_t unexpected() const { return unexpected_.load(); }
  // Read after received() shows the message arrived (release/acquire on received_).
  std::int64_t recv_ns(std::size_t i) const { return recv_ns_[i]; }

 private:
  std::vector<std::int64_t> recv_ns_;
  std::atomic<std::uint64_t> received_{0};
  std::atomic<std::uint64_t> unexpected_{0};
};

class Sender final : public FIX::Application {
 public:
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override { logged_on_ = true; }
  void onLogout(const FIX::SessionID&) override { logged_on_ = false; }
  void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message&,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {}
  bool logged_on() const { return logged_on_.load(); }

 private:
  std::atomic<bool> logged_on_{false};
};

// The fields of the gateway's NewOrderSingle (adapters/fix/fix_mapping.cpp).
FIX::Message new_order_single(std::size_t index) {
  FIX::Message m;
  m.getHeader().setField(FIX::MsgType(FIX::MsgType_NewOrderSingle));
  m.setField(FIX::ClOrdID("Q" + std::to_string(index)));
  m.setField(FIX::Account("ACC-BENCH"));
  m.setField(
      FIX::HandlInst(FIX::HandlInst_AUTOMATED_EXECUTION_ORDER_PRIVATE_NO_BROKER_INTERVENTION));
  m.setField(FIX::Symbol("BENCH"));
  m.setField(FIX::Side(FIX::Side_BUY));
  m.setField(FIX::TransactTime(FIX::UtcTimeStamp(), 3));
  m.setField(FIX::FIELD::OrderQty, "100");
  m.setField(FIX::OrdType(FIX::OrdType_LIMIT));
  m.setField(FIX::FIELD::Price, "187.25");
  m.setField(FIX::TimeInForce(FIX::TimeInForce_DAY));
  return m;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("free_port: bind failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

FIX::Dictionary common_settings(const std::string& dictionary) {
  FIX::Dictionary d;
  d.setString("StartTime", "00:00:00");
  d.setString("EndTime", "00:00:00");
  d.setString("UseDataDictionary", "Y");
  d.setString("DataDictionary", dictionary);
  d.setString("ResetOnLogon", "Y");
  d.setString("PersistMessages", "Y");
  d.setString("SocketNodelay", "Y");
  d.setInt("HeartBtInt", 30);
  return d;
}

struct Phase {
  std::size_t first = 0;  // index of the first message
  std::size_t sent = 0;
  std::int64_t start_ns = 0;
  std::int64_t end_send_ns = 0;
  double cpu_before_ms = 0;                // this process's CPU time at the start
  double system_before_ms = 0;             // all CPUs' busy time at the start
  std::vector<std::int64_t> scheduled_ns;  // by index - first
};

class FixFloor {
 public:
  FixFloor(const std::string& dictionary, std::size_t capacity) : receiver_(capacity) {
    const int port = free_port();
    // QuickFIX's acceptor always binds 0.0.0.0; rewrite that one bind to 127.0.0.1.
    sim::loopback_bind::arm(inet_addr("127.0.0.1"), static_cast<std::uint16_t>(port));
    const FIX::SessionID acceptor_id("FIX.4.4", "SIM", "BENCH");
    FIX::Dictionary a = common_settings(dictionary);
    a.setString("ConnectionType", "acceptor");
    a.setInt("SocketAcceptPort", port);
    a.setString("SocketReuseAddress", "Y");
    acceptor_settings_.set(a);
    acceptor_settings_.set(acceptor_id, FIX::Dictionary());

    FIX::Dictionary i = common_settings(dictionary);
    i.setString("ConnectionType", "initiator");
    i.setString("SocketConnectHost", "127.0.0.1");
    i.setInt("SocketConnectPort", port);
    i.setInt("ReconnectInterval", 1);
    initiator_settings_.set(i);
    initiator_settings_.set(session_, FIX::Dictionary());

    acceptor_ =
        std::make_unique<FIX::SocketAcceptor>(receiver_, acceptor_store_, acceptor_settings_);
    acceptor_->start();
    if (!sim::loopback_bind::listener_was_rewritten()) {
      throw std::runtime_error("the acceptor did not bind to 127.0.0.1; refusing to run");
    }
    initiator_ =
        std::make_unique<FIX::SocketInitiator>(sender_, initiator_store_, initiator_settings_);
    initiator_->start();
    const std::int64_t deadline = mono_ns() + 10'000'000'000;
    while (!sender_.logged_on()) {
      if (mono_ns() > deadline) throw std::runtime_error("the FIX session did not log on");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  ~FixFloor() {
    initiator_->stop();
    acceptor_->stop();
  }

  // Open loop at `rate` messages/s for `seconds`.
  Phase run_fixed(double rate, double seconds) {
    Phase p = begin(static_cast<std::size_t>(rate * seconds));
    const double interval_ns = 1e9 / rate;
    for (std::size_t k = 0; k < p.scheduled_ns.size(); ++k) {
      const auto at = p.start_ns + static_cast<std::int64_t>(static_cast<double>(k) * interval_ns);
      p.scheduled_ns[k] = at;
      bench::sleep_until_ns(at);
      send(p.first + k);
      ++p.sent;
    }
    p.end_send_ns = mono_ns();
    return p;
  }

  // As fast as possible for `seconds`, at most `window` in flight.
  Phase run_max(double seconds, std::size_t window, std::size_t max_messages) {
    Phase p = begin(max_messages);
    const std::int64_t deadline = p.start_ns + static_cast<std::int64_t>(seconds * 1e9);
    const std::uint64_t base = receiver_.received();
    for (std::size_t k = 0; k < p.scheduled_ns.size(); ++k) {
      while (k - (receiver_.received() - base) >= window) std::this_thread::yield();
      const std::int64_t now = mono_ns();
      if (now >= deadline) break;
      p.scheduled_ns[k] = now;
      send(p.first + k);
      ++p.sent;
    }
    p.scheduled_ns.resize(p.sent);
    p.end_send_ns = mono_ns();
    return p;
  }

  nlohmann::json report(const std::string& name, const Phase& p) {
    const std::int64_t deadline = mono_ns() + 30'000'000'000;
    while (receiver_.received() < sent_total_ && mono_ns() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    // Both sides and the sender live in this process.
    const double cpu_ms = bench::process_cpu_ms(::getpid()) - p.cpu_before_ms;
    const double other_share =
        std::max(0.0, bench::system_busy_ms() - p.system_before_ms - cpu_ms) /
        (static_cast<double>(mono_ns() - p.start_ns) / 1e6 *
         static_cast<double>(std::thread::hardware_concurrency()));
    std::vector<std::int64_t> latencies;
    std::int64_t last_recv = p.start_ns;
    std::size_t missing = 0;
    for (std::size_t k = 0; k < p.sent; ++k) {
      const std::int64_t r = receiver_.recv_ns(p.first + k);
      if (r == 0) {
        ++missing;
        continue;
      }
      latencies.push_back(r - p.scheduled_ns[k]);
      last_recv = std::max(last_recv, r);
    }
    const std::size_t received = p.sent - missing;
    const double span_s = static_cast<double>(last_recv - p.start_ns) / 1e9;
    const double rate = span_s > 0 ? static_cast<double>(received) / span_s : 0.0;
    const double send_rate =
        static_cast<double>(p.sent) / (static_cast<double>(p.end_send_ns - p.start_ns) / 1e9);
    const auto lat = bench::summarize_ns(std::move(latencies));
    const double cpu_us = received ? cpu_ms * 1000.0 / static_cast<double>(received) : 0.0;
    std::cout << "raw QuickFIX " << name << ": sent " << p.sent << ", received " << received
              << " -> " << static_cast<long>(rate) << " msg/s received, "
              << bench::round_to(cpu_us, 1) << " us CPU per message (both sides), other load "
              << static_cast<int>(other_share * 100) << "% of the CPUs; send->fromApp "
              << bench::describe(lat) << "\n";
    return {{"sent", p.sent},
            {"received", received},
            {"missing", missing},
            {"send_per_s", bench::round_to(send_rate, 1)},
            {"received_per_s", bench::round_to(rate, 1)},
            {"cpu_us_per_msg", bench::round_to(cpu_us, 1)},
            {"other_cpu_share", bench::round_to(other_share, 3)},
            {"latency", bench::to_json(lat)}};
  }

  std::uint64_t unexpected() const { return receiver_.unexpected(); }

 private:
  Phase begin(std::size_t count) {
    Phase p;
    p.first = next_;
    p.scheduled_ns.assign(count, 0);
    p.start_ns = mono_ns() + 1'000'000;
    p.cpu_before_ms = bench::process_cpu_ms(::getpid());
    p.system_before_ms = bench::system_busy_ms();
    next_ += count;
    return p;
  }

  void send(std::size_t index) {
    FIX::Message m = new_order_single(index);
    if (!FIX::Session::sendToTarget(m, session_)) {
      throw std::runtime_error("sendToTarget refused message " + std::to_string(index));
    }
    ++sent_total_;
  }

  const FIX::SessionID session_{"FIX.4.4", "BENCH", "SIM"};
  Receiver receiver_;
  Sender sender_;
  FIX::MemoryStoreFactory acceptor_store_;
  FIX::MemoryStoreFactory initiator_store_;
  FIX::SessionSettings acceptor_settings_;
  FIX::SessionSettings initiator_settings_;
  std::unique_ptr<FIX::SocketAcceptor> acceptor_;
  std::unique_ptr<FIX::SocketInitiator> initiator_;
  std::size_t next_ = 0;          // next message index
  std::uint64_t sent_total_ = 0;  // messages handed to the session
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_floor_quickfix: raw QuickFIX initiator -> acceptor, MemoryStore, no log"};
  std::string json_path;
  double rate = 1000;
  double fixed_seconds = 3;
  double max_seconds = 3;
  std::size_t window = 1000;
  std::size_t max_messages = 2'000'000;
  app.add_option("--json", json_path, "write the results to this file");
  app.add_option("--rate", rate, "offered rate of the fixed phase, messages/s")
      ->check(CLI::PositiveNumber);
  app.add_option("--fixed-seconds", fixed_seconds, "duration of the fixed-rate phase")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-seconds", max_seconds, "duration of the maximum phase")
      ->check(CLI::PositiveNumber);
  app.add_option("--window", window, "most messages in flight in the maximum phase")
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--max-messages", max_messages, "most messages of the maximum phase")
      ->check(CLI::Range(1, 50'000'000));
  CLI11_PARSE(app, argc, argv);

  try {
    const std::string dictionary = std::string(BROKERGW_SOURCE_DIR) + "/fixspec/FIX44.brokergw.xml";
    const auto fixed_count = static_cast<std::size_t>(rate * fixed_seconds);
    // Warm-up (connection, allocator, dictionary caches) is not reported.
    constexpr std::size_t kWarmup = 2000;
    FixFloor floor(dictionary, kWarmup + fixed_count + max_messages);
    floor.report("warm-up", floor.run_max(1.0, window, kWarmup));
    nlohmann::json out;
    out["dictionary"] = "fixspec/FIX44.brokergw.xml (UseDataDictionary=Y on both sides)";
    out["store"] = "MemoryStore, PersistMessages=Y";
    out["log"] = "none";
    out["fixed"] = floor.report("fixed " + std::to_string(static_cast<long>(rate)) + "/s",
                                floor.run_fixed(rate, fixed_seconds));
    out["fixed"]["offered_per_s"] = rate;
    out["max"] = floor.report("max", floor.run_max(max_seconds, window, max_messages));
    out["max"]["window"] = window;
    out["unexpected"] = floor.unexpected();
    if (!json_path.empty()) bench::write_json_file(json_path, out);
  } catch (const std::exception& e) {
    std::cerr << "bench_floor_quickfix: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
