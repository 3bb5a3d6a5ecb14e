// `brokergw session ...`: the operator's commands for a broker's FIX sequence numbers, run
// against the running gateway through its admin API (gateway/api/admin_routes.cpp) on loopback.
//
//   brokergw session show BROKER
//   brokergw session set-seq BROKER [--sender N] [--target N] [--dry-run]
//   brokergw session reset BROKER [--dry-run]
//
// The gateway's URL and admin token come from flags (--url, --admin-token-file) or from the
// gateway's configuration file (-c: api.listen_address/listen_port, api.admin_token_file).
// Only loopback URLs are accepted; the token is sent as a bearer and never printed.
//
// Threads: the main thread only. Exit status: 0 done, 1 the gateway refused or failed (its
// error is printed), 2 a usage or connection error.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace brokergw::cli {

struct SessionCommand {
  std::string action;  // "show", "set-seq", "reset"
  std::string broker;
  std::optional<std::string> sender;  // as typed; validated before anything is sent
  std::optional<std::string> target;
  bool dry_run = false;
  std::string url;
  std::string admin_token_file;
  std::string config_path;
};

// Adds `session` and its subcommands to app; `out` is filled when one of them is parsed.
CLI::App* add_session_commands(CLI::App& app, SessionCommand& out);

int run_session_command(const SessionCommand& command);

}  // namespace brokergw::cli
