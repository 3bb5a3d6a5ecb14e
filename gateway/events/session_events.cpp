// Session events (session_events.h): the name table and the bodies.
#include "gateway/events/session_events.h"

#include <array>
#include <utility>

#include <nlohmann/json.hpp>

namespace brokergw::events {
namespace {

using nlohmann::json;

constexpr std::array<std::pair<SessionEventType, std::string_view>, kSessionEventTypeCount> kNames{
    {{SessionEventType::kSequenceRefused, "session.sequence_refused"},
     {SessionEventType::kSequenceSet, "session.sequence_set"},
     {SessionEventType::kSequenceReset, "session.sequence_reset"}}};

json numbers(const adapters::SessionSequence& s) {
  return {{"next_sender", s.next_sender}, {"next_target", s.next_target}};
}

store::StoredEvent base(SessionEventType type, std::string_view broker, core::TimestampUs now_us) {
  store::StoredEvent ev;
  ev.type = std::string(to_string(type));
  ev.broker = std::string(broker);
  ev.at_us = now_us;
  return ev;
}

}  // namespace

std::string_view to_string(SessionEventType t) {
  for (const auto& [type, name] : kNames) {
    if (type == t) return name;
  }
  return "?";
}

std::optional<SessionEventType> session_event_type_from_string(std::string_view name) {
  for (const auto& [type, n] : kNames) {
    if (n == name) return type;
  }
  return std::nullopt;
}

store::StoredEvent render_sequence_refused(std::string_view broker,
                                           const adapters::SequenceRefusal& refusal,
                                           core::TimestampUs now_us) {
  store::StoredEvent ev = base(SessionEventType::kSequenceRefused, broker, now_us);
  json body = {{"side", refusal.ours_too_low ? "ours_too_low" : "theirs_too_low"},
               {"expected", refusal.expected},
               {"received", refusal.received},
               {"reason", refusal.text}};
  ev.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return ev;
}

store::StoredEvent render_sequence_change(std::string_view broker, bool reset,
                                          const adapters::SequenceChange& change,
                                          core::TimestampUs now_us) {
  store::StoredEvent ev = base(
      reset ? SessionEventType::kSequenceReset : SessionEventType::kSequenceSet, broker, now_us);
  json body = {{"before", numbers(change.before)}, {"after", numbers(change.after)}};
  ev.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return ev;
}

}  // namespace brokergw::events
