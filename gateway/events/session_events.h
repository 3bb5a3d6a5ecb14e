// Session events: what happened to a broker's FIX session that an operator must see or that
// must be audited (docs/EVENTS.md, "Session events"). They are journaled in the same event
// stream as order events (same ids, payload schema, Kafka topic), with no order: account and
// client_order_id are empty and the Kafka key is the broker.
//
// Owns the session event types and their one name table; pure functions, any thread.
// Invariant: every body names the broker's numbers both ways round (expected and received for
// a refusal, before and after for a change), so an operator never has to guess them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.h"
#include "store/store.h"

namespace brokergw::events {

enum class SessionEventType {
  kSequenceRefused,  // session.sequence_refused: a logon refused for sequence numbers
  kSequenceSet,      // session.sequence_set: an operator set the next sequence numbers
  kSequenceReset,    // session.sequence_reset: an operator reset both to 1
};
inline constexpr int kSessionEventTypeCount = 3;

std::string_view to_string(SessionEventType t);
std::optional<SessionEventType> session_event_type_from_string(std::string_view name);

// Body: side ("ours_too_low" | "theirs_too_low"), expected, received, reason (the text).
store::StoredEvent render_sequence_refused(std::string_view broker,
                                           const adapters::SequenceRefusal& refusal,
                                           core::TimestampUs now_us);

// Body: before {next_sender, next_target}, after {next_sender, next_target}.
store::StoredEvent render_sequence_change(std::string_view broker, bool reset,
                                          const adapters::SequenceChange& change,
                                          core::TimestampUs now_us);

}  // namespace brokergw::events
