// `brokergw session ...` (session_cli.h): parses the operator's command, talks to the admin API
// with cpp-httplib's client, prints the answer for a human.
#include "gateway/session_cli.h"

#include <httplib.h>

#include <charconv>
#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "gateway/config/config.h"

namespace brokergw::cli {
namespace {

using nlohmann::json;

std::string read_secret(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "http://127.0.0.1:8080" -> host and port; only loopback hosts.
bool parse_url(const std::string& url, std::string& host, int& port, std::string& error) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) {
    error = "--url must start with http:// (got " + url + ")";
    return false;
  }
  std::string rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  host = colon == std::string::npos ? rest : rest.substr(0, colon);
  port = 80;
  if (colon != std::string::npos) {
    const std::string p = rest.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
    if (ec != std::errc() || ptr != p.data() + p.size() || port < 1 || port > 65535) {
      error = "--url has an invalid port: " + p;
      return false;
    }
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const bool loopback = host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
  if (!loopback) {
    error = "--url must name a loopback address (127.0.0.1, ::1 or localhost), got " + host;
    return false;
  }
  return true;
}

std::optional<int> parse_seq(const std::string& flag, const std::string& text, std::string& error) {
  long long n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) {
    error = flag + " must be a whole number, got \"" + text + "\"";
    return std::nullopt;
  }
  if (n < 1 || n > 2147483647LL) {
    error = flag + " must be between 1 and 2147483647, got " + text;
    return std::nullopt;
  }
  return static_cast<int>(n);
}

void print_error(const json& body, int status) {
  std::cerr << "brokergw: the gateway answered " << status;
  if (body.is_object() && body.contains("error")) {
    const json& e = body["error"];
    std::cerr << " (" << e.value("code", "") << "): " << e.value("message", "");
    if (e.contains("fields")) {
      for (const auto& f : e["fields"]) {
        std::cerr << "\n  " << f.value("field", "") << ": " << f.value("reason", "");
      }
    }
  }
  std::cerr << "\n";
}

void print_show(const json& b) {
  std::cout << "broker " << b.value("broker", "") << ": "
            << (b.value("logged_on", false) ? "logged on" : "not logged on") << "\n"
            << "  next_sender " << b.value("next_sender", 0)
            << "  (the MsgSeqNum of our next message)\n"
            << "  next_target " << b.value("next_target", 0)
            << "  (the MsgSeqNum we expect from the broker next)\n";
  if (b.contains("refusal")) {
    const json& r = b["refusal"];
    const bool ours = r.value("side", "") == "ours_too_low";
    std::cout << "  REFUSED at " << r.value("at", "") << ": "
              << (ours ? "the broker says our MsgSeqNum is too low"
                       : "the broker's MsgSeqNum is below the one we expect")
              << ": expected " << r.value("expected", 0) << ", received " << r.value("received", 0)
              << "\n    \"" << r.value("text", "") << "\"\n"
              << "  refused logons in a row: " << b.value("consecutive_refusals", 0)
              << ", reconnect backoff " << b.value("reconnect_backoff_s", 0) << " s";
    if (b.contains("next_logon_at")) {
      std::cout << ", next logon at " << b.value("next_logon_at", "");
    }
    std::cout << "\n";
  }
}

}  // namespace

CLI::App* add_session_commands(CLI::App& app, SessionCommand& out) {
  CLI::App* session = app.add_subcommand(
      "session", "Show, set or reset a broker's FIX sequence numbers in the running gateway");
  session->require_subcommand(1);
  session->add_option("--url", out.url, "the gateway's API, e.g. http://127.0.0.1:8080");
  session->add_option("--admin-token-file", out.admin_token_file,
                      "file holding the admin bearer token (default: api.admin_token_file)");
  session->add_option("-c,--config", out.config_path,
                      "the gateway's configuration (for its address and admin token)");
  auto broker = [&out](CLI::App* cmd) {
    cmd->add_option("broker", out.broker, "broker name ([brokers.<name>])")->required();
    cmd->fallthrough();  // --url, --admin-token-file and -c may follow the subcommand
  };
  CLI::App* show = session->add_subcommand("show", "the broker's sequence numbers and refusals");
  broker(show);
  show->callback([&out] { out.action = "show"; });
  CLI::App* set = session->add_subcommand(
      "set-seq", "set the next sender and/or target sequence number (logs out, then on again)");
  broker(set);
  set->add_option("--sender", out.sender, "MsgSeqNum of our next message");
  set->add_option("--target", out.target, "MsgSeqNum expected from the broker next");
  set->add_flag("--dry-run", out.dry_run, "print what would change; change nothing");
  set->callback([&out] { out.action = "set-seq"; });
  CLI::App* reset = session->add_subcommand(
      "reset", "reset both sequence numbers to 1 and delete stored messages");
  broker(reset);
  reset->add_flag("--dry-run", out.dry_run, "print what would change; change nothing");
  reset->callback([&out] { out.action = "reset"; });
  return session;
}

int run_session_command(const SessionCommand& cmd) {
  std::string url = cmd.url;
  std::string token_file = cmd.admin_token_file;
  if (!cmd.config_path.empty() && (url.empty() || token_file.empty())) {
    auto loaded = config::load_config_file(cmd.config_path);
    if (!loaded) {
      std::cerr << "brokergw: invalid configuration " << cmd.config_path << ":\n";
      for (const auto& e : loaded.error()) std::cerr << "  " << e.to_string() << "\n";
      return 2;
    }
    if (url.empty()) {
      std::string host = loaded->api_listen_address;
      if (host == "0.0.0.0") host = "127.0.0.1";
      if (host == "::") host = "::1";
      if (host.find(':') != std::string::npos) host = "[" + host + "]";
      url = "http://" + host + ":" + std::to_string(loaded->api_listen_port);
    }
    if (token_file.empty()) token_file = loaded->api_admin_token_file;
  }
  if (url.empty()) url = "http://127.0.0.1:8080";
  std::string host, error;
  int port = 0;
  if (!parse_url(url, host, port, error)) {
    std::cerr << "brokergw: " << error << "\n";
    return 2;
  }
  if (token_file.empty()) {
    std::cerr << "brokergw: no admin token: give --admin-token-file or -c with "
                 "api.admin_token_file\n";
    return 2;
  }
  const std::string token = read_secret(token_file);
  if (token.empty()) {
    std::cerr << "brokergw: the admin token file " << token_file << " is missing or empty\n";
    return 2;
  }

  json body = json::object();
  if (cmd.action == "set-seq") {
    if (!cmd.sender && !cmd.target) {
      std::cerr << "brokergw: set-seq needs --sender and/or --target\n";
      return 2;
    }
    for (const auto& [flag, value, key] : {std::tuple{"--sender", cmd.sender, "next_sender"},
                                           std::tuple{"--target", cmd.target, "next_target"}}) {
      if (!value) continue;
      auto n = parse_seq(flag, *value, error);
      if (!n) {
        std::cerr << "brokergw: " << error << "; nothing changed\n";
        return 2;
      }
      body[key] = *n;
    }
  }
  if (cmd.action != "show") body["dry_run"] = cmd.dry_run;

  httplib::Client client(host, port);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(60, 0);  // a change waits for the logout and a synced commit
  const httplib::Headers headers{{"Authorization", "Bearer " + token}};
  const std::string path = "/admin/v1/sessions/" + cmd.broker;
  httplib::Result res = cmd.action == "show"
                            ? client.Get(path, headers)
                            : client.Post(path + (cmd.action == "reset" ? "/reset" : "/sequence"),
                                          headers, body.dump(), "application/json");
  if (!res) {
    std::cerr << "brokergw: cannot reach the gateway at " << url << ": "
              << httplib::to_string(res.error()) << "\n";
    return 2;
  }
  const json answer = json::parse(res->body, nullptr, false);
  if (res->status != 200 || !answer.is_object()) {
    print_error(answer, res->status);
    return 1;
  }
  if (cmd.action == "show") {
    print_show(answer);
    return 0;
  }
  const json& before = answer["before"];
  const json& after = answer["after"];
  std::cout << "broker " << cmd.broker << ": "
            << (answer.value("dry_run", false) ? "dry run, nothing changed" : "changed") << "\n"
            << "  next_sender " << before.value("next_sender", 0) << " -> "
            << after.value("next_sender", 0) << "\n"
            << "  next_target " << before.value("next_target", 0) << " -> "
            << after.value("next_target", 0) << "\n";
  if (answer.contains("note")) std::cout << "  " << answer.value("note", "") << "\n";
  return 0;
}

}  // namespace brokergw::cli
