// The one narrow interface between the gateway and a broker transport (FIX, HTTP, ...).
// A broker's quirks live behind it; gateway/ never asks which broker it talks to.
//
// Threads: send_* are called from the broker's own dispatcher thread. Listener callbacks run
// on the adapter's I/O thread. on_report() returns only after the report is durably stored,
// because the transport may acknowledge the message (advance its sequence number) as soon
// as the callback returns.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "gateway/core/exec_content.h"
#include "gateway/core/order.h"
#include "gateway/core/resolution.h"
#include "store/store.h"

namespace brokergw::adapters {

enum class SendErrc {
  kSessionDown,      // retriable: not logged on; the order waits for the session
  kRejectedLocally,  // fatal: the message cannot be built for this broker (dialect limits)
};

struct SendError {
  SendErrc code;
  std::string detail;
  bool retriable() const { return code == SendErrc::kSessionDown; }
};

using SendResult = tl::expected<void, SendError>;

// One normalized message from the broker about one of our orders.
struct BrokerReport {
  std::string broker;
  std::string client_order_id;  // our ClOrdID of the order (OrigClOrdID for cancel reports)
  std::string cancel_id;        // our ClOrdID of the cancel request, when the report is about one
  std::string exec_id;          // the broker's execution id, for de-duplication ("" if none)
  bool possible_duplicate = false;  // PossDupFlag / PossResend set by the broker
  // The broker answered a status query: it does not know this order (it never arrived).
  bool not_at_broker = false;
  // The broker refused a NewOrderSingle because it already has this ClOrdID: the order is
  // there (our resend crossed an earlier copy), not rejected.
  bool duplicate_order = false;
  // The broker refused our status request for this order (FIX: BusinessMessageReject 35=j
  // or a session Reject referring to the OrderStatusRequest): it cannot be asked.
  bool status_unsupported = false;
  // A report with nothing to apply (informational) or that the gateway does not apply
  // (unhandled: a trade bust, correction or restatement). Journaled either way, never dropped.
  bool informational = false;
  bool unhandled = false;
  // The broker refused our cancel because it does not know the order (FIX CxlRejReason=1).
  bool cancel_unknown_order = false;
  // The message could not be read (summary says why): journaled raw as an anomaly.
  bool unparseable = false;
  core::OrderEvent event;
  // What identifies the report for de-duplication (ExecType, LastQty, LastPx, CumQty), and
  // the CumQty it states (content.cum_qty) for the missing-fills check.
  core::ExecContent content;
  std::string raw;  // the message as received, secrets masked, '|' between fields
  // Set by the gateway, not the adapter: the stored version of a report whose ExecID it has
  // seen with other content (core::ExecContent::describe).
  std::string first_seen;
  std::string summary;  // one line for logs (never contains credentials)
};

namespace detail {
struct KindOf {
  core::ReportKind operator()(const core::EvAck&) const { return core::ReportKind::kAck; }
  core::ReportKind operator()(const core::EvFill&) const { return core::ReportKind::kFill; }
  core::ReportKind operator()(const core::EvReject&) const { return core::ReportKind::kReject; }
  core::ReportKind operator()(const core::EvCanceled&) const { return core::ReportKind::kCanceled; }
  core::ReportKind operator()(const core::EvCancelRejected&) const {
    return core::ReportKind::kCancelRejected;
  }
  core::ReportKind operator()(const core::EvReplaced&) const { return core::ReportKind::kReplaced; }
  core::ReportKind operator()(const core::EvReplaceRejected&) const {
    return core::ReportKind::kReplaceRejected;
  }
  core::ReportKind operator()(const core::EvExpired&) const { return core::ReportKind::kExpired; }
  core::ReportKind operator()(const core::EvStatus&) const { return core::ReportKind::kStatus; }
  core::ReportKind operator()(const core::EvBust&) const { return core::ReportKind::kBust; }
  core::ReportKind operator()(const core::EvCorrect&) const {
    return core::ReportKind::kCorrection;
  }
  core::ReportKind operator()(const core::EvRestated&) const { return core::ReportKind::kRestated; }
  // Not broker reports (an adapter never produces them): core::apply refuses them.
  template <class E>
  core::ReportKind operator()(const E&) const {
    return core::ReportKind::kAck;
  }
};
}  // namespace detail

// What the report is, for the resolution rules (core/resolution.h).
inline core::ReportKind report_kind(const BrokerReport& report) {
  if (report.unparseable) return core::ReportKind::kUnparseable;
  if (report.status_unsupported) return core::ReportKind::kStatusUnsupported;
  if (report.cancel_unknown_order) return core::ReportKind::kCancelRejectedUnknownOrder;
  if (report.unhandled) return core::ReportKind::kUnhandled;
  if (report.informational) return core::ReportKind::kInformational;
  if (report.not_at_broker) return core::ReportKind::kStatusUnknown;
  if (report.duplicate_order) return core::ReportKind::kDuplicateClOrdId;
  return std::visit(detail::KindOf{}, report.event);
}

// ---- Session control: sequence numbers under operator control -----------------------------
// A transport without sequence numbers answers session_control() with supported = false and
// refuses change_sequence().

// A logon refused because of sequence numbers. ours_too_low: the broker refused our MsgSeqNum
// (its Logout said so); otherwise we refused the broker's (it is below what we expect: a
// broker that reset its sequence numbers). received is 0 when the broker's text omits it.
struct SequenceRefusal {
  bool ours_too_low = false;
  int expected = 0;
  int received = 0;
  core::TimestampUs at_us = 0;
  std::string text;  // the refusal's text as the session saw it (never contains credentials)
};

struct SessionSequence {
  int next_sender = 0;  // the MsgSeqNum our next message will carry
  int next_target = 0;  // the MsgSeqNum we expect from the broker next
  friend bool operator==(const SessionSequence&, const SessionSequence&) = default;
};

struct SessionControlStatus {
  bool supported = false;
  bool logged_on = false;
  SessionSequence current;
  std::optional<SequenceRefusal> last_refusal;  // since the last logon that lasted, or change
  std::uint64_t refusals_total = 0;             // since start
  int consecutive_refusals = 0;                 // refused logons in a row (the backoff's step)
  std::int64_t reconnect_backoff_ms = 0;        // the wait after the last refusal (0: none)
  core::TimestampUs next_attempt_us = 0;        // when the next logon is tried (0: not waiting)
};

// An operator's change: reset (both numbers to 1, stored messages deleted) or set either or both
// numbers (each >= 1).
struct SequenceRequest {
  bool reset = false;
  std::optional<int> next_sender;
  std::optional<int> next_target;
};

struct SequenceChange {
  SessionSequence before;
  SessionSequence after;
};

// Journals the change inside the transaction that makes it durable (an audit that cannot be
// lost while the change survives). Runs on the store's committer thread.
using SequenceAudit = std::function<store::Status(store::WriteTxn&, const SequenceChange&)>;

// What became of a report, for transports that answer it (FIX DontKnowTrade).
enum class ReportOutcome {
  kJournaled,     // stored and journaled (applied, ignored or an anomaly)
  kDuplicate,     // the same report was stored before
  kUnknownOrder,  // no order of this broker has its ClOrdID: journaled as order.unknown_report
};

class AdapterListener {
 public:
  virtual ~AdapterListener() = default;
  virtual ReportOutcome on_report(BrokerReport report) = 0;
  virtual void on_session_state(std::string_view broker, bool logged_on,
                                std::string_view detail) = 0;
  // The session was refused because of sequence numbers (session control, below). Runs on the
  // adapter's I/O thread and must not block on the disk; the default ignores it.
  virtual void on_sequence_refused(std::string_view broker, const SequenceRefusal& refusal);
};

class BrokerAdapter {
 public:
  virtual ~BrokerAdapter() = default;
  virtual const std::string& broker() const = 0;
  virtual void start(AdapterListener& listener) = 0;
  virtual void stop() = 0;
  virtual bool logged_on() const = 0;
  // poss_resend: an idempotent resend of the same ClOrdID (FIX PossResend=Y).
  virtual SendResult send_new_order(const core::Order& order, bool poss_resend) = 0;
  // Asks the broker for the order's status by our ClOrdID (FIX OrderStatusRequest 35=H).
  virtual SendResult send_status_request(const core::Order& order) = 0;
  virtual SendResult send_cancel(const core::Order& order, std::string_view cancel_id) = 0;

  // "No false silence": the time (our clock, microseconds since the epoch) up to which the
  // adapter has proven that every message the broker sent before it has been read and handed
  // to the listener (whose on_report returned). FIX proves it with a TestRequest: when the
  // Heartbeat answering a TestRequest sent at t has been processed, everything the broker sent
  // before it received that TestRequest has been processed too (one ordered TCP stream).
  // 0 until the first proof. Any thread.
  virtual core::TimestampUs inbound_read_up_to_us() const = 0;
  // Asks for such a proof now (FIX: sends a TestRequest unless one is outstanding). Cheap and
  // idempotent; a no-op while the session is down. Any thread.
  virtual void probe_inbound(core::TimestampUs now_us) = 0;

  // Session control (above). Any thread. change_sequence logs the session out, stores the new
  // numbers durably (with `audit` in the same transaction), logs on again and returns what it
  // changed; it blocks for the logout (bounded) and one synced commit. An error is text for the
  // operator; nothing changed then.
  virtual SessionControlStatus session_control() const { return {}; }
  virtual tl::expected<SequenceChange, std::string> change_sequence(const SequenceRequest&,
                                                                    const SequenceAudit&) {
    return tl::unexpected(std::string("this transport has no sequence numbers"));
  }
};

inline void AdapterListener::on_sequence_refused(std::string_view, const SequenceRefusal&) {}

}  // namespace brokergw::adapters
