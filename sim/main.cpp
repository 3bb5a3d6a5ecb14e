// brokersim: a FIX 4.4 broker simulator for brokergw's tests (docs/SIMULATOR.md).
//
// Threads: main (start-up, then waits for SIGINT/SIGTERM), the QuickFIX acceptor thread
// (SimApplication callbacks, logging), the engine thread (EngineRunner) and, with control_file,
// the control file thread (ControlFileWatcher). SIGINT and SIGTERM are blocked in every thread
// and taken by main with sigwait, so shutdown runs in main only.
//
// Exit codes: 0 clean shutdown, 1 runtime failure (e.g. port in use), 2 usage or configuration
// error (including a data dictionary that does not load).
#include <arpa/inet.h>
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/FileStore.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "sim/config.h"
#include "sim/control.h"
#include "sim/engine.h"
#include "sim/engine_runner.h"
#include "sim/fix_app.h"
#include "sim/journal.h"
#include "sim/loopback_bind.h"

namespace {

using brokergw::sim::SimConfig;

constexpr int kExitRuntime = 1;
constexpr int kExitConfig = 2;

void usage(std::FILE* out) {
  std::fputs(
      "usage: brokersim --config FILE [--check-config]\n"
      "  --config FILE    simulator configuration (TOML, see docs/SIMULATOR.md)\n"
      "  --check-config   validate the configuration and the data dictionary, then exit\n",
      out);
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "brokersim: %s\n", message.c_str());
  return code;
}

// Loads the data dictionary the way QuickFIX will, so a broken dictionary stops start-up with
// a message that names the file, instead of a session that rejects every message.
std::string check_dictionary(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return "data dictionary " + path.string() + " does not exist or is not a file";
  }
  try {
    const FIX::DataDictionary dictionary(path.string());
    if (dictionary.getVersion() != "FIX.4.4") {
      return "data dictionary " + path.string() + " is for " + dictionary.getVersion() +
             ", brokersim speaks FIX.4.4";
    }
  } catch (const FIX::ConfigError& e) {
    return "data dictionary " + path.string() + " does not load: " + e.what();
  }
  return {};
}

void setup_logging(const SimConfig& config) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
  if (!config.log_file.empty()) {
    sinks.push_back(std::make_shared<spdlog::sinks::basic_file_sink_mt>(config.log_file.string()));
  }
  auto logger = std::make_shared<spdlog::logger>("brokersim", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(config.log_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

// The run number makes OrderIDs and ExecIDs unique across restarts sharing a state directory.
std::uint64_t next_run_number(const std::filesystem::path& state_dir, std::string& error) {
  const std::filesystem::path file = state_dir / "brokersim.runs";
  std::uint64_t previous = 0;
  if (std::ifstream in(file); in) in >> previous;
  const std::uint64_t run = previous + 1;
  const std::filesystem::path tmp = state_dir / "brokersim.runs.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << run << '\n';
    if (!out.flush()) {
      error = "cannot write " + tmp.string();
      return 0;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) {
    error = "cannot write " + file.string() + ": " + ec.message();
    return 0;
  }
  return run;
}

FIX::SessionSettings acceptor_settings(const SimConfig& config) {
  FIX::Dictionary defaults;
  defaults.setString("ConnectionType", "acceptor");
  defaults.setString("SocketAcceptPort", std::to_string(config.port));
  defaults.setString("SocketReuseAddress", "Y");
  defaults.setString("SocketNodelay", "Y");
  defaults.setString("StartTime", "00:00:00");  // equal start and end: always in session
  defaults.setString("EndTime", "00:00:00");
  defaults.setString("FileStorePath", (config.state_dir / "fixstore").string());
  defaults.setString("UseDataDictionary", "Y");
  defaults.setString("DataDictionary", config.data_dictionary.string());
  defaults.setString("ResetOnLogon", config.reset_on_logon ? "Y" : "N");

  FIX::SessionSettings settings;
  settings.set(defaults);
  settings.set(FIX::SessionID("FIX.4.4", config.sender_comp_id, config.target_comp_id),
               FIX::Dictionary());
  return settings;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (arg == "--check-config") {
      check_only = true;
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return kExitConfig;
    }
  }
  if (config_path.empty()) {
    usage(stderr);
    return kExitConfig;
  }

  auto loaded = brokergw::sim::load_config(config_path);
  if (!loaded) return fail(kExitConfig, loaded.error());
  const SimConfig config = std::move(*loaded);
  if (const std::string error = check_dictionary(config.data_dictionary); !error.empty()) {
    return fail(kExitConfig, error);
  }
  if (check_only) {
    std::printf("brokersim: configuration %s is valid (%zu rules)\n", config_path.c_str(),
                config.rules.size());
    return 0;
  }

  std::error_code ec;
  std::filesystem::create_directories(config.state_dir / "fixstore", ec);
  if (ec) {
    return fail(kExitRuntime, "cannot create " + config.state_dir.string() + ": " + ec.message());
  }
  if (!config.journal_file.parent_path().empty()) {
    std::filesystem::create_directories(config.journal_file.parent_path(), ec);
  }
  setup_logging(config);
  std::string error;
  const std::uint64_t run_number = next_run_number(config.state_dir, error);
  if (run_number == 0) return fail(kExitRuntime, error);
  auto journal = brokergw::sim::Journal::open(config.journal_file);
  if (!journal) return fail(kExitRuntime, journal.error());

  // Block the shutdown signals before any thread exists, so every thread inherits the mask and
  // only main's sigwait sees them.
  sigset_t shutdown_signals;
  sigemptyset(&shutdown_signals);
  sigaddset(&shutdown_signals, SIGINT);
  sigaddset(&shutdown_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &shutdown_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  brokergw::sim::EngineOptions options;
  options.rules = config.rules;
  options.run_number = run_number;
  options.max_orders = config.max_orders;
  options.poss_resend_duplicate = config.poss_resend_duplicate;
  options.status_requests = config.status_requests;
  options.resent_cancel = config.resent_cancel;
  options.skip_seq_nums = config.skip_seq_nums;
  options.skip_seq_after_unmatched = config.skip_seq_all_orders;
  options.exec_ids = config.exec_ids;
  options.status_exec_id = config.status_exec_id;
  brokergw::sim::Engine engine(std::move(options));

  const FIX::SessionID session("FIX.4.4", config.sender_comp_id, config.target_comp_id);
  brokergw::sim::SessionStatus session_status;
  brokergw::sim::FixSender sender(session, session_status, static_cast<std::uint16_t>(config.port));
  brokergw::sim::EngineRunner runner(engine, sender, config.max_inbound_queue);
  brokergw::sim::SimApplication application(config, **journal, runner, session_status);
  std::unique_ptr<brokergw::sim::ControlFileWatcher> control;
  if (!config.control_file.empty()) {
    control = std::make_unique<brokergw::sim::ControlFileWatcher>(
        config.control_file,
        [&sender, &runner](const brokergw::sim::ControlLine& line) {
          switch (line.command) {
            case brokergw::sim::ControlCommand::kNone:
              break;
            case brokergw::sim::ControlCommand::kDisconnect:
              sender.disconnect_now("control file");
              break;
            case brokergw::sim::ControlCommand::kResetSeq:
              sender.reset_seq_nums("control file");
              break;
            case brokergw::sim::ControlCommand::kBook:
              // The engine thread owns the book; the command queues like a FIX request.
              if (!runner.submit(line.book)) {
                spdlog::warn("control file: engine queue full (max_inbound_queue); {} {} dropped",
                             "command for", line.book.cl_ord_id);
              }
              break;
          }
        },
        [](const std::string& message) { spdlog::warn("control file: {}", message); });
  }

  in_addr listen_address{};
  inet_pton(AF_INET, config.listen_address.c_str(), &listen_address);  // validated by config
  brokergw::sim::loopback_bind::arm(listen_address.s_addr, static_cast<std::uint16_t>(config.port));

  // The acceptor keeps references to the factories: declare them first so they outlive it.
  brokergw::sim::SpdlogLogFactory log_factory;
  std::unique_ptr<FIX::FileStoreFactory> store_factory;
  std::unique_ptr<FIX::SocketAcceptor> acceptor;
  try {
    const FIX::SessionSettings settings = acceptor_settings(config);
    store_factory = std::make_unique<FIX::FileStoreFactory>(settings);
    acceptor =
        std::make_unique<FIX::SocketAcceptor>(application, *store_factory, settings, log_factory);
    // The acceptor has created the session (and opened its store): a reset now means the
    // first Logon goes out with MsgSeqNum 1 and the gateway's is expected with 1.
    if (config.reset_seq_on_start &&
        !brokergw::sim::reset_session_store(session, "reset_seq_on_start")) {
      return fail(kExitRuntime, "reset_seq_on_start: cannot reset the FIX session's store");
    }
    runner.start();
    acceptor->start();
  } catch (const FIX::ConfigError& e) {
    runner.stop();
    return fail(kExitConfig, std::string("QuickFIX configuration: ") + e.what());
  } catch (const FIX::RuntimeError& e) {
    runner.stop();
    return fail(kExitRuntime, std::string("cannot start the acceptor: ") + e.what());
  }
  if (!brokergw::sim::loopback_bind::listener_was_rewritten()) {
    acceptor->stop(true);
    runner.stop();
    return fail(kExitRuntime, "the FIX listener did not bind to " + config.listen_address +
                                  "; refusing to listen on all interfaces");
  }

  if (control) control->start();
  spdlog::info("run {}: {} -> {}, {} rules, dictionary {}, journal {}, control file {}", run_number,
               config.sender_comp_id, config.target_comp_id, config.rules.size(),
               config.data_dictionary.string(), config.journal_file.string(),
               config.control_file.empty() ? "none" : config.control_file.string());
  std::printf("brokersim listening on %s:%d\n", config.listen_address.c_str(), config.port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&shutdown_signals, &signal_number);
  spdlog::info("received {}, shutting down", signal_number == SIGINT ? "SIGINT" : "SIGTERM");

  if (control) control->stop();
  acceptor->stop();  // logs out the gateway, stops reading; no new requests after this
  runner.stop();     // steps still pending are dropped
  (*journal)->close();

  const auto& c = engine.counters();
  spdlog::info(
      "stopped: orders={} duplicates={} invalid={} acks={} fills={} rejects={} cancels={} "
      "cancel_rejects={} cancel_resends={} status_requests={} status_unanswered={} "
      "status_unsupported={} mass_status_requests={} steps_skipped={} report_copies={} "
      "disconnects={} forgotten_orders={} seq_skips={} busts={} corrections={} restatements={} "
      "strays={} refused_commands={}",
      c.new_orders, c.duplicate_cl_ord_ids, c.invalid_orders, c.acks, c.fills, c.rejects, c.cancels,
      c.cancel_rejects, c.cancel_resends, c.status_requests, c.status_unanswered,
      c.status_unsupported, c.mass_status_requests, c.steps_skipped, c.report_copies, c.disconnects,
      c.forgotten_orders, c.seq_skips, c.busts, c.corrections, c.restatements, c.strays,
      c.refused_commands);
  spdlog::shutdown();
  return 0;
}
