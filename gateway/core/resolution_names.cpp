// The one name table of each resolution enum (core/resolution.h). Names are used only at the
// edges: the store, events and logs.
#include <array>
#include <utility>

#include "gateway/core/resolution.h"

namespace brokergw::core {
namespace {

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [e, name] : table) {
    if (e == v) return name;
  }
  return "?";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view s) {
  for (const auto& [e, name] : table) {
    if (name == s) return e;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<Strategy, std::string_view>, kStrategyCount> kStrategies{{
    {Strategy::kStatusQuery, "status_query"},
    {Strategy::kResend, "resend"},
}};

constexpr std::array<std::pair<Step, std::string_view>, kStepCount> kSteps{{
    {Step::kDeadline, "timeout"},
    {Step::kQuery, "status_query"},
    {Step::kResend, "resend"},
    {Step::kAttention, "attention"},
}};

constexpr std::array<std::pair<ReportKind, std::string_view>, kReportKindCount> kReportKinds{{
    {ReportKind::kAck, "ack"},
    {ReportKind::kFill, "fill"},
    {ReportKind::kReject, "reject"},
    {ReportKind::kDuplicateClOrdId, "duplicate_clordid"},
    {ReportKind::kCanceled, "canceled"},
    {ReportKind::kCancelRejected, "cancel_rejected"},
    {ReportKind::kReplaced, "replaced"},
    {ReportKind::kReplaceRejected, "replace_rejected"},
    {ReportKind::kExpired, "expired"},
    {ReportKind::kStatus, "status"},
    {ReportKind::kStatusUnknown, "status_unknown_order"},
    {ReportKind::kStatusUnsupported, "status_unsupported"},
    {ReportKind::kInformational, "informational"},
    {ReportKind::kUnhandled, "unhandled"},
    {ReportKind::kBust, "bust"},
    {ReportKind::kCorrection, "correction"},
    {ReportKind::kRestated, "restated"},
    {ReportKind::kCancelRejectedUnknownOrder, "cancel_rejected_unknown_order"},
    {ReportKind::kConflictingDuplicate, "conflicting_duplicate"},
    {ReportKind::kUnparseable, "unparseable"},
}};

constexpr std::array<std::pair<Send, std::string_view>, kSendCount> kSends{{
    {Send::kNothing, "nothing"},
    {Send::kNewOrder, "new_order"},
    {Send::kResendNewOrder, "resend_new_order"},
    {Send::kCancel, "cancel"},
    {Send::kStatusQuery, "status_query"},
}};

constexpr std::array<std::pair<EventType, std::string_view>, kEventTypeCount> kEventTypes{{
    {EventType::kNone, ""},
    {EventType::kNew, "order.new"},
    {EventType::kFill, "order.fill"},
    {EventType::kRejected, "order.rejected"},
    {EventType::kCancelRequested, "order.cancel_requested"},
    {EventType::kCanceled, "order.canceled"},
    {EventType::kCancelRejected, "order.cancel_rejected"},
    {EventType::kReplaceRequested, "order.replace_requested"},
    {EventType::kReplaced, "order.replaced"},
    {EventType::kReplaceRejected, "order.replace_rejected"},
    {EventType::kExpired, "order.expired"},
    {EventType::kStatus, "order.status"},
    {EventType::kUnknown, "order.unknown"},
    {EventType::kResolution, "order.resolution"},
    {EventType::kAttentionRequired, "order.attention_required"},
    {EventType::kAnomaly, "order.anomaly"},
    {EventType::kReportIgnored, "order.report_ignored"},
    {EventType::kUnknownReport, "order.unknown_report"},
    {EventType::kFillBusted, "order.fill_busted"},
    {EventType::kFillCorrected, "order.fill_corrected"},
    {EventType::kRestated, "order.restated"},
    {EventType::kFillsMissing, "order.fills_missing"},
    {EventType::kUnverified, "order.unverified"},
}};

constexpr std::array<std::pair<AnomalyReason, std::string_view>, kAnomalyReasonCount> kAnomalies{{
    {AnomalyReason::kNone, ""},
    {AnomalyReason::kOverFill, "over_fill"},
    {AnomalyReason::kInvalidFill, "invalid_fill"},
    {AnomalyReason::kUnexpectedEvent, "unexpected_event"},
    {AnomalyReason::kFillAfterTerminal, "fill_after_terminal"},
    {AnomalyReason::kBrokerLostOrder, "broker_lost_order"},
    {AnomalyReason::kUnhandledReport, "unhandled_report"},
    {AnomalyReason::kExecIdConflict, "exec_id_conflict"},
    {AnomalyReason::kUnknownExecRef, "unknown_exec_ref"},
    {AnomalyReason::kUnparseable, "unparseable_report"},
    {AnomalyReason::kUnknownOrder, "unknown_order"},
}};

constexpr std::array<std::pair<Reason, std::string_view>, kReasonCount> kReasons{{
    {Reason::kNone, ""},
    {Reason::kFirstSend, "first_send"},
    {Reason::kResend, "resend"},
    {Reason::kCancelSend, "cancel_send"},
    {Reason::kStatusQuerySend, "status_query_send"},
    {Reason::kAlreadySent, "already_sent"},
    {Reason::kNotSentYet, "not_sent_yet"},
    {Reason::kNotPending, "not_pending"},
    {Reason::kTerminal, "terminal"},
    {Reason::kCanceledBeforeSent, "canceled_before_sent"},
    {Reason::kStale, "stale"},
    {Reason::kStaleRejected, "stale_rejected"},
    {Reason::kApplied, "applied"},
    {Reason::kStatusAdopted, "status_adopted"},
    {Reason::kStatusPending, "status_pending"},
    {Reason::kStatusCancelLost, "status_cancel_lost"},
    {Reason::kNotAtBrokerResend, "not_at_broker_resend"},
    {Reason::kNotAtBrokerReject, "not_at_broker_reject"},
    {Reason::kDuplicateClOrdId, "duplicate_clordid"},
    {Reason::kStatusUnsupported, "status_unsupported"},
    {Reason::kLateReport, "late_report"},
    {Reason::kRefused, "refused"},
    {Reason::kBrokerLostOrder, "broker_lost_order"},
    {Reason::kInformational, "informational"},
    {Reason::kUnhandled, "unhandled"},
    {Reason::kSilence, "silence"},
    {Reason::kReaderBehind, "reader_behind"},
    {Reason::kSessionDown, "session_down"},
    {Reason::kBudget, "budget"},
    {Reason::kAttempt, "attempt"},
    {Reason::kAttemptsExhausted, "attempts_exhausted"},
    {Reason::kNoLongerWaiting, "no_longer_waiting"},
    {Reason::kRearmDeadline, "rearm_deadline"},
    {Reason::kInFlightAtRestart, "in_flight_at_restart"},
    {Reason::kRequeue, "requeue"},
    {Reason::kScheduleContinues, "schedule_continues"},
    {Reason::kAttention, "attention"},
    {Reason::kFillsMissing, "fills_missing"},
    {Reason::kUnverified, "unverified"},
    {Reason::kCancelUnknownAtBroker, "cancel_unknown_at_broker"},
    {Reason::kExecIdConflict, "exec_id_conflict"},
    {Reason::kUnknownExecRef, "unknown_exec_ref"},
    {Reason::kUnparseable, "unparseable"},
}};

}  // namespace

std::string_view to_string(Strategy s) { return name_of(kStrategies, s); }
std::optional<Strategy> strategy_from_string(std::string_view s) {
  return value_of(kStrategies, s);
}
std::string_view to_string(Step s) { return name_of(kSteps, s); }
std::optional<Step> step_from_string(std::string_view s) { return value_of(kSteps, s); }
std::string_view to_string(ReportKind k) { return name_of(kReportKinds, k); }
std::string_view to_string(Send s) { return name_of(kSends, s); }
std::string_view to_string(EventType t) { return name_of(kEventTypes, t); }
std::optional<EventType> event_type_from_string(std::string_view s) {
  if (s.empty()) return std::nullopt;
  return value_of(kEventTypes, s);
}
std::string_view to_string(AnomalyReason r) { return name_of(kAnomalies, r); }
std::string_view to_string(Reason r) { return name_of(kReasons, r); }

}  // namespace brokergw::core
