// Shared set-up of the in-process service tests: a brokersim process on loopback and the FIX
// broker configuration that reaches it. Test main thread only.
#pragma once

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "tests/system/harness.h"

namespace brokergw::servicetest {

// Starts brokersim on `fix_port` with the given rules (TOML bodies of [[rules]]); its state,
// journal (journal.jsonl) and log live in `dir`. Throws when it does not start.
inline std::unique_ptr<systest::Process> start_sim(const systest::TempDir& dir, int fix_port,
                                                   const std::vector<std::string>& rules) {
  using namespace std::chrono_literals;
  std::ostringstream toml;
  toml << "listen_address = \"127.0.0.1\"\nport = " << fix_port
       << "\nsender_comp_id = \"SIMBROKER0\"\ntarget_comp_id = \"BROKERGW\"\n"
       << "data_dictionary = \"" << BROKERGW_SOURCE_DIR << "/fixspec/FIX44.brokergw.xml\"\n"
       << "state_dir = \"" << dir.file("sim-state") << "\"\n"
       << "journal_file = \"" << dir.file("journal.jsonl") << "\"\n";
  for (const auto& rule : rules) toml << "\n[[rules]]\n" << rule << "\n";
  systest::write_file(dir.file("sim.toml"), toml.str());
  auto sim = std::make_unique<systest::Process>(
      std::vector<std::string>{BROKERSIM_BIN, "--config", dir.file("sim.toml")},
      dir.file("sim.log"));
  if (!systest::wait_until([&] { return sim->log().find("listening") != std::string::npos; },
                           15s)) {
    throw std::runtime_error("brokersim did not start:\n" + sim->log());
  }
  return sim;
}

// The [brokers.sim] configuration for that simulator.
inline config::BrokerConfig sim_broker(int fix_port) {
  config::BrokerConfig b;
  b.name = "sim";
  b.type = "fix";
  b.host = "127.0.0.1";
  b.port = static_cast<std::uint16_t>(fix_port);
  b.fix_version = "FIX.4.4";
  b.sender_comp_id = "BROKERGW";
  b.target_comp_id = "SIMBROKER0";
  b.data_dictionary = std::string(BROKERGW_SOURCE_DIR) + "/fixspec/FIX44.brokergw.xml";
  b.heartbeat_interval_s = 5;
  b.reconnect_interval_s = 1;
  return b;
}

}  // namespace brokergw::servicetest
