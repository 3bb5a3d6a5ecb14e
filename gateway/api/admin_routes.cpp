// The admin API (docs/PROTOCOL.md, "Admin API"): a broker's FIX sequence numbers, shown, set
// and reset against the running gateway. Also the session part of /v1/health and /metrics
// (session_json, session_metrics), which read the same state.
//
//   GET  /admin/v1/sessions                   every broker's numbers and refusal state
//   GET  /admin/v1/sessions/{broker}          one broker's
//   POST /admin/v1/sessions/{broker}/sequence {"next_sender": N, "next_target": N, "dry_run": b}
//   POST /admin/v1/sessions/{broker}/reset    {"dry_run": b}
//
// Threads: registered by HttpApi::start() on the main thread; handlers run on the server's pool.
// A change blocks its pool thread while the session logs out and the store commits.
//
// Invariants: fail closed. Without an admin token configured every admin route answers 403;
// a missing or wrong bearer answers 401 (the admin token, never the client token); the token is
// never logged. An invalid request (a field not an integer, below 1, an unknown broker) changes
// nothing and names the field. A dry run reads only. Every applied change is journaled by the
// service in the transaction that makes it durable.
#include <limits>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "gateway/api/http_api_impl.h"
#include "gateway/intake/request_json.h"

namespace brokergw::api {
namespace {

using detail::reply;
using detail::reply_error;
using nlohmann::json;

bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

json numbers(const adapters::SessionSequence& s) {
  return {{"next_sender", s.next_sender}, {"next_target", s.next_target}};
}

void reply_session_error(httplib::Response& res, const service::SessionError& e) {
  std::vector<intake::FieldError> fields;
  if (!e.field.empty()) fields.push_back({e.field, e.message});
  switch (e.code) {
    case service::SessionErrc::kUnknownBroker:
      reply_error(res, 404, "unknown_broker", e.message + "; nothing changed", fields);
      return;
    case service::SessionErrc::kUnsupported:
      reply_error(res, 409, "unsupported", e.message, fields);
      return;
    case service::SessionErrc::kInvalid:
      reply_error(res, 400, "invalid_request", e.message + "; nothing changed", fields);
      return;
    case service::SessionErrc::kFailed:
      reply_error(res, 503, "change_failed", e.message, fields);
      return;
  }
}

// An optional integer field in [1, INT32_MAX]; a present field of another type is an error.
bool read_seq_field(const json& body, const char* name, std::optional<int>& out,
                    std::vector<intake::FieldError>& errors) {
  if (!body.contains(name) || body[name].is_null()) return true;
  const json& v = body[name];
  if (!v.is_number_integer()) {
    errors.push_back({name, std::string(name) + " must be an integer of at least 1"});
    return false;
  }
  const auto n = v.get<std::int64_t>();
  if (n < 1 || n > std::numeric_limits<std::int32_t>::max()) {
    errors.push_back(
        {name, std::string(name) + " must be between 1 and 2147483647, got " + std::to_string(n)});
    return false;
  }
  out = static_cast<int>(n);
  return true;
}

}  // namespace

json HttpApi::Impl::session_json(const adapters::SessionControlStatus& st) {
  json out = {{"logged_on", st.logged_on},
              {"next_sender", st.current.next_sender},
              {"next_target", st.current.next_target},
              {"sequence_refused", st.last_refusal.has_value()},
              {"sequence_refusals_total", st.refusals_total},
              {"consecutive_refusals", st.consecutive_refusals},
              {"reconnect_backoff_s", st.reconnect_backoff_ms / 1000}};
  if (st.last_refusal) {
    const auto& r = *st.last_refusal;
    out["refusal"] = {{"side", r.ours_too_low ? "ours_too_low" : "theirs_too_low"},
                      {"expected", r.expected},
                      {"received", r.received},
                      {"at", intake::format_timestamp(r.at_us)},
                      {"text", r.text}};
  }
  if (st.next_attempt_us) out["next_logon_at"] = intake::format_timestamp(st.next_attempt_us);
  return out;
}

void HttpApi::Impl::session_metrics(std::string& out) {
  const auto sessions = service.sessions().all();
  auto gauge = [&](const char* name, const char* help, auto value_of) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n";
    for (const auto& s : sessions) {
      out += std::string(name) + "{broker=\"" + s.broker + "\"} " +
             std::to_string(value_of(s.status)) + "\n";
    }
  };
  out +=
      "# HELP brokergw_session_sequence_refusals_total Logons refused for sequence numbers.\n"
      "# TYPE brokergw_session_sequence_refusals_total counter\n";
  for (const auto& s : sessions) {
    out += "brokergw_session_sequence_refusals_total{broker=\"" + s.broker + "\"} " +
           std::to_string(s.status.refusals_total) + "\n";
  }
  gauge("brokergw_session_sequence_refused",
        "1 while the last logon was refused for sequence numbers.",
        [](const adapters::SessionControlStatus& st) { return st.last_refusal ? 1 : 0; });
  gauge("brokergw_session_refused_expected_seq",
        "MsgSeqNum expected in the last refusal (0: none).",
        [](const adapters::SessionControlStatus& st) {
          return st.last_refusal ? st.last_refusal->expected : 0;
        });
  gauge("brokergw_session_refused_received_seq",
        "MsgSeqNum received in the last refusal (0: none or not stated).",
        [](const adapters::SessionControlStatus& st) {
          return st.last_refusal ? st.last_refusal->received : 0;
        });
  gauge("brokergw_session_reconnect_backoff_seconds",
        "Wait before the next logon after a refusal (0: none).",
        [](const adapters::SessionControlStatus& st) {
          return st.last_refusal ? st.reconnect_backoff_ms / 1000 : 0;
        });
  gauge("brokergw_session_next_sender_seq", "MsgSeqNum of our next message.",
        [](const adapters::SessionControlStatus& st) { return st.current.next_sender; });
  gauge("brokergw_session_next_target_seq", "MsgSeqNum expected from the broker next.",
        [](const adapters::SessionControlStatus& st) { return st.current.next_target; });
}

bool HttpApi::Impl::admin_authorized(const httplib::Request& req, httplib::Response& res) {
  if (admin_token.empty()) {
    reply_error(res, 403, "admin_disabled",
                "the admin API is disabled: no admin token is configured (api.admin_token_file)");
    return false;
  }
  const std::string header = req.get_header_value("Authorization");
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() > kPrefix.size() && header.compare(0, kPrefix.size(), kPrefix) == 0 &&
      same_secret(std::string_view(header).substr(kPrefix.size()), admin_token)) {
    return true;
  }
  spdlog::warn("api: {} {} refused: missing or wrong admin bearer token", req.method, req.path);
  reply_error(res, 401, "unauthorized", "missing or wrong admin bearer token");
  return false;
}

void HttpApi::Impl::admin_routes() {
  server.Get("/admin/v1/sessions", [this](const httplib::Request& req, httplib::Response& res) {
    if (!admin_authorized(req, res)) return;
    json body = json::object();
    for (const auto& s : service.sessions().all()) body[s.broker] = session_json(s.status);
    reply(res, 200, {{"sessions", body}});
  });

  server.Get(R"(/admin/v1/sessions/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) {
               if (!admin_authorized(req, res)) return;
               auto shown = service.sessions().show(std::string(req.matches[1]));
               if (!shown) return reply_session_error(res, shown.error());
               json body = session_json(shown->status);
               body["broker"] = shown->broker;
               reply(res, 200, body);
             });

  auto change = [this](const httplib::Request& req, httplib::Response& res, bool reset) {
    if (!admin_authorized(req, res)) return;
    const std::string broker = req.matches[1];
    json body = req.body.empty() ? json::object() : json::parse(req.body, nullptr, false);
    if (!body.is_object()) {
      return reply_error(res, 400, "invalid_request",
                         "the body must be a JSON object; nothing changed");
    }
    std::vector<intake::FieldError> errors;
    adapters::SequenceRequest request;
    request.reset = reset;
    if (!reset) {
      read_seq_field(body, "next_sender", request.next_sender, errors);
      read_seq_field(body, "next_target", request.next_target, errors);
      if (errors.empty() && !request.next_sender && !request.next_target) {
        errors.push_back({"next_sender", "give next_sender and/or next_target"});
      }
    }
    bool dry_run = false;
    if (body.contains("dry_run")) {
      if (!body["dry_run"].is_boolean()) {
        errors.push_back({"dry_run", "dry_run must be true or false"});
      } else {
        dry_run = body["dry_run"].get<bool>();
      }
    }
    auto shown = service.sessions().show(broker);  // unknown broker first: nothing else matters
    if (!shown) return reply_session_error(res, shown.error());
    if (!errors.empty()) {
      return reply_error(res, 400, "invalid_request",
                         "the request has invalid fields; nothing changed", errors);
    }
    if (dry_run) {
      const adapters::SessionSequence before = shown->status.current;
      adapters::SessionSequence after = before;
      if (reset) {
        after = {1, 1};
      } else {
        after.next_sender = request.next_sender.value_or(before.next_sender);
        after.next_target = request.next_target.value_or(before.next_target);
      }
      return reply(
          res, 200,
          {{"broker", broker},
           {"dry_run", true},
           {"changed", false},
           {"logged_on", shown->status.logged_on},
           {"before", numbers(before)},
           {"after", numbers(after)},
           {"note", std::string("nothing changed; without dry_run the session logs out, ") +
                        (reset ? "both numbers become 1 and stored messages are deleted"
                               : "the numbers are stored") +
                        ", and it logs on again"}});
    }
    auto changed = service.sessions().change(broker, request);
    if (!changed) return reply_session_error(res, changed.error());
    reply(res, 200,
          {{"broker", broker},
           {"dry_run", false},
           {"changed", true},
           {"before", numbers(changed->before)},
           {"after", numbers(changed->after)}});
  };
  server.Post(
      R"(/admin/v1/sessions/([^/]+)/sequence)",
      [change](const httplib::Request& req, httplib::Response& res) { change(req, res, false); });
  server.Post(
      R"(/admin/v1/sessions/([^/]+)/reset)",
      [change](const httplib::Request& req, httplib::Response& res) { change(req, res, true); });
}

}  // namespace brokergw::api
