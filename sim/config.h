// brokersim's configuration: the TOML file given with --config, parsed and validated into
// SimConfig. Every error names the key (`rules[2].fills: ...`); unknown keys are errors, so a
// typo cannot silently fall back to a default. docs/SIMULATOR.md documents every key; keep the
// two in step (the key lists below are the source).
//
// Thread: called once by main before any thread starts. Pure apart from reading the file.
//
// Invariants of a returned SimConfig: listen_address is an IPv4 loopback address; port is in
// 1..65535; paths are absolute (relative paths are taken from the config file's directory);
// every rule's Action is valid for its kind (sim/rules.h).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "sim/engine.h"
#include "sim/rules.h"

namespace brokergw::sim {

// resend: how the simulator answers a ResendRequest for its application messages. kReplay:
// QuickFIX resends the stored messages (PossDupFlag=Y) and gap-fills over admin messages;
// kGapFill: every application message is refused (FIX::DoNotSend from toApp), so QuickFIX
// answers with SequenceReset-GapFill over the whole range, as several engines do.
enum class ResendPolicy { kReplay, kGapFill };

struct SimConfig {
  std::string listen_address = "127.0.0.1";
  int port = 0;
  std::string sender_comp_id = "SIMBROKER";  // the simulator's own CompID
  std::string target_comp_id = "BROKERGW";   // the gateway's CompID
  std::filesystem::path data_dictionary;     // required
  std::filesystem::path state_dir;           // required; FIX store and run counter live here
  std::filesystem::path journal_file;        // default: <state_dir>/journal.jsonl
  std::filesystem::path log_file;            // empty: log to stderr only
  std::string log_level = "info";
  bool reset_on_logon = false;
  std::string logon_username;  // when set, a Logon must carry this Username(553)
  std::string logon_password;  // when set, a Logon must carry this Password(554)
  std::size_t max_orders = 1'000'000;
  std::size_t max_inbound_queue = 10'000;
  PossResendDuplicatePolicy poss_resend_duplicate = PossResendDuplicatePolicy::kReject;
  StatusRequestPolicy status_requests = StatusRequestPolicy::kAnswer;
  ResentCancelPolicy resent_cancel = ResentCancelPolicy::kTooLate;
  // skip_seq_nums: how many outbound sequence numbers a skip_seq_after fault skips. When the
  // key is set, every order skips (rules may opt out with skip_seq_after = false).
  std::int64_t skip_seq_nums = kDefaultSkipSeqNums;
  bool skip_seq_all_orders = false;  // the global skip_seq_nums key was given
  ExecIdStyle exec_ids = ExecIdStyle::kUnique;
  StatusExecId status_exec_id = StatusExecId::kFresh;
  ResendPolicy resend = ResendPolicy::kReplay;
  bool reset_seq_on_start = false;     // start at MsgSeqNum 1 both ways, dropping the FIX store
  std::filesystem::path control_file;  // empty: no control channel
  std::vector<Rule> rules;
};

// Parses TOML text. `base_dir` anchors relative paths; `source` names the text in errors.
tl::expected<SimConfig, std::string> parse_config(std::string_view toml_text,
                                                  const std::filesystem::path& base_dir,
                                                  std::string_view source);

// Reads and parses a config file.
tl::expected<SimConfig, std::string> load_config(const std::filesystem::path& file);

// True for dotted-quad IPv4 addresses in 127.0.0.0/8.
bool is_loopback_ipv4(std::string_view address);

}  // namespace brokergw::sim
