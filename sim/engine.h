// The simulated broker's order book: receives new orders, cancels, status and mass status
// requests and the control file's book commands (bust, correct, restate, stray; their code is
// in sim/book_corrections.cpp) as plain structs, runs each order's Plan (sim/rules.h) on a
// timer, and produces
// FIX-shaped answers as plain structs, plus the session-level fault actions (disconnect, skip
// sequence numbers) that the adapter carries out in order with them. Pure: no QuickFIX types,
// no clock (time comes in as `now`), no threads.
//
// Thread: not thread-safe; EngineRunner (sim/engine_runner.h) owns it and calls it from its one
// engine thread only.
//
// Invariants (checked, stay on):
//   - an order's cum_qty never exceeds its quantity; leaves = qty - cum while open, 0 when closed;
//   - cum_qty and the notional are the sums over the order's fills that are not busted, with
//     their corrected quantities and prices; a bust or correction never lets a fill still
//     planned exceed the order quantity;
//   - once an order is closed (filled, canceled, rejected) none of its remaining steps runs;
//   - a ClOrdID is accepted at most once (orders and cancels share one namespace); an order
//     forgotten by disconnect = "before_placing" does not use its ClOrdID up; a cancel sent again
//     (same ClOrdID, same OrigClOrdID) is the same request, never a second cancel;
//   - a duplicated report (duplicate_reports) directly follows its original and carries the
//     same ExecID; every other report has an ExecID of its own;
//   - OrderIDs carry the run number, so they never repeat across restarts that share a state
//     directory; ExecIDs do too with exec_ids = kUnique, and are unique within one run with
//     kRestart (a plain counter from 1, as an acceptor that restarted numbers them again);
//   - with status_exec_id = kZero every ExecType=I report has ExecID "0" and uses no number.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "sim/decimal.h"
#include "sim/rules.h"

namespace brokergw::sim {

// Milliseconds on a monotonic clock, passed in by the caller.
using SteadyMs = std::int64_t;

// FIX 4.4 values the engine writes (ExecType(150), OrdStatus(39), reason codes).
namespace fix44 {
inline constexpr char kExecNew = '0';
inline constexpr char kExecCanceled = '4';
inline constexpr char kExecRejected = '8';
inline constexpr char kExecRestated = 'D';
inline constexpr char kExecTrade = 'F';
inline constexpr char kExecTradeCorrect = 'G';
inline constexpr char kExecTradeCancel = 'H';
inline constexpr char kExecOrderStatus = 'I';
inline constexpr int kRestateBrokerOption = 4;  // ExecRestatementReason(378)
inline constexpr int kMassStatusForSecurity = 1;
inline constexpr int kMassStatusForAllOrders = 7;
inline constexpr int kBusinessRejectOther = 0;
inline constexpr int kBusinessRejectUnsupportedMessageType = 3;
inline constexpr int kBusinessRejectConditionallyRequiredFieldMissing = 5;
inline constexpr char kStatusNew = '0';
inline constexpr char kStatusPartiallyFilled = '1';
inline constexpr char kStatusFilled = '2';
inline constexpr char kStatusCanceled = '4';
inline constexpr char kStatusRejected = '8';
inline constexpr char kStatusPendingNew = 'A';
inline constexpr int kOrdRejUnknownOrder = 5;
inline constexpr int kOrdRejDuplicateOrder = 6;
inline constexpr int kOrdRejIncorrectQuantity = 13;
inline constexpr int kOrdRejOther = 99;
inline constexpr int kCxlRejTooLate = 0;
inline constexpr int kCxlRejUnknownOrder = 1;
inline constexpr int kCxlRejDuplicateClOrdId = 6;
inline constexpr char kCxlRejResponseToCancel = '1';
inline constexpr char kOrdTypeMarket = '1';
}  // namespace fix44

// ---- Inbound (parsed from FIX by the adapter; strings are copied, no FIX types) ----

struct NewOrderIn {
  std::string cl_ord_id;
  std::string account;  // empty when absent
  std::string symbol;
  char side = kSideBuy;
  char ord_type = fix44::kOrdTypeMarket;
  std::optional<std::string> order_qty;  // OrderQty(38) as received
  std::optional<std::string> price;      // Price(44) as received
  bool poss_resend = false;              // PossResend(97)=Y in the header
};

struct CancelIn {
  std::string cl_ord_id;
  std::string orig_cl_ord_id;
  std::string symbol;
  char side = kSideBuy;
};

struct StatusIn {
  std::string cl_ord_id;
  std::string symbol;
  char side = kSideBuy;
  std::string ord_status_req_id;  // echoed when present
  std::int64_t msg_seq_num = 0;   // for RefSeqNum in a reject
};

struct MassStatusIn {
  std::string mass_status_req_id;
  int mass_status_req_type = fix44::kMassStatusForAllOrders;
  std::string symbol;            // Symbol(55), empty when absent
  char side = 0;                 // Side(54), 0 when absent
  std::int64_t msg_seq_num = 0;  // for RefSeqNum in a reject
};

// A control-file command about the book (docs/SIMULATOR.md, "Busts, corrections,
// restatements, stray reports"), parsed by sim/control.h.
enum class BookCommandKind {
  kBust,     // ExecType=H Trade Cancel of one fill
  kCorrect,  // ExecType=G Trade Correct of one fill
  kRestate,  // ExecType=D Restated, the order's current state
  kStray,    // a report for a ClOrdID the simulator never received
};
enum class StrayReport { kFill, kAck };

struct BookCommandIn {
  BookCommandKind kind = BookCommandKind::kBust;
  std::string cl_ord_id;
  std::string exec_ref_id;  // kBust, kCorrect: the fill's ExecID; empty = the last live fill
  Fixed last_qty;           // kCorrect: the fill's corrected quantity, > 0
  Fixed last_px;            // kCorrect: the fill's corrected price, > 0
  int restatement_reason = fix44::kRestateBrokerOption;  // kRestate: ExecRestatementReason(378)
  StrayReport stray = StrayReport::kFill;                // kStray
};

using Inbound = std::variant<NewOrderIn, CancelIn, StatusIn, MassStatusIn, BookCommandIn>;

// ---- Outgoing (turned into FIX by the adapter) ----

// Which copy of a report this is (duplicate_reports). A copy always directly follows the
// original and has the same content and ExecID.
enum class ReportCopy {
  kOriginal,
  kPlainCopy,    // sent again unchanged (new MsgSeqNum, no PossDupFlag)
  kPossDupCopy,  // sent again with PossDupFlag(43)=Y and OrigSendingTime(122) = the original's
};

struct ExecReportOut {
  std::string order_id;
  std::string cl_ord_id;
  std::string orig_cl_ord_id;  // empty = absent
  std::string exec_id;
  std::string exec_ref_id;  // ExecRefID(19) of a bust or correction, empty = absent
  char exec_type = fix44::kExecNew;
  char ord_status = fix44::kStatusNew;
  std::string account;  // empty = absent
  std::string symbol;
  char side = kSideBuy;
  char ord_type = 0;  // 0 = absent
  std::optional<Fixed> order_qty;
  std::optional<Fixed> price;
  std::optional<Fixed> last_qty;
  std::optional<Fixed> last_px;
  Fixed leaves_qty;
  Fixed cum_qty;
  Fixed avg_px;
  std::optional<int> ord_rej_reason;
  std::optional<int> exec_restatement_reason;  // ExecRestatementReason(378), ExecType=D
  std::string text;                            // empty = absent
  std::string ord_status_req_id;               // empty = absent
  std::string mass_status_req_id;              // MassStatusReqID(584), empty = absent
  std::optional<int> tot_num_reports;          // TotNumReports(911)
  std::optional<bool> last_rpt_requested;      // LastRptRequested(912)
  std::vector<ExtraTag> extra_tags;            // the rule's extra_tags (placed by field_order)
  FieldOrder field_order = FieldOrder::kTag;   // the rule's field_order
  ReportCopy copy = ReportCopy::kOriginal;
};

struct CancelRejectOut {
  std::string order_id;  // "NONE" when the order is unknown
  std::string cl_ord_id;
  std::string orig_cl_ord_id;
  std::string account;  // empty = absent
  char ord_status = fix44::kStatusRejected;
  int cxl_rej_reason = fix44::kCxlRejUnknownOrder;
  std::string text;
};

struct BusinessRejectOut {
  std::string ref_msg_type;
  std::int64_t ref_seq_num = 0;
  std::string business_reject_ref_id;  // empty = absent
  int reason = fix44::kBusinessRejectOther;
  std::string text;
};

// Drop the TCP connection now, without a Logout (disconnect). What follows is stored by the
// FIX session under its sequence numbers and resent on the gateway's ResendRequest.
struct DisconnectOut {
  std::string reason;  // for the log
};

// Advance the outbound MsgSeqNum by `count` without sending anything (skip_seq_after).
struct SkipSeqNumsOut {
  std::int64_t count = 0;
};

// A line for the simulator's log: what a control-file command did, or why it did nothing.
struct NoticeOut {
  bool warning = false;
  std::string text;
};

using Outgoing = std::variant<ExecReportOut, CancelRejectOut, BusinessRejectOut, DisconnectOut,
                              SkipSeqNumsOut, NoticeOut>;

// ---- Engine ----

// What the simulator answers to a NewOrderSingle whose ClOrdID it has seen before and that
// carries PossResend=Y. The FIX spec asks for a status report; brokergw's tests default to the
// stricter reject so that a resend which is really a second order shows up.
enum class PossResendDuplicatePolicy { kReject, kStatus };

// What the simulator does with an OrderStatusRequest (H): answer it (ExecType=I), or refuse the
// message type as a broker without status requests does: BusinessMessageReject (j),
// RefMsgType=H, BusinessRejectReason=3 (unsupported message type), for every ClOrdID.
enum class StatusRequestPolicy { kAnswer, kUnsupported };

// The answer to an OrderCancelRequest sent again (same ClOrdID, same OrigClOrdID) after the
// first copy was handled: kTooLate treats it as the same request again (order closed, e.g.
// canceled by the first copy: OrderCancelReject CxlRejReason=0 with the order's OrdStatus;
// order unknown: CxlRejReason=1); kDuplicate refuses the reused ClOrdID (CxlRejReason=6), as
// some engines do.
enum class ResentCancelPolicy { kTooLate, kDuplicate };

// exec_ids: how ExecIDs are made. kUnique: "SIMX-<run>-<n>", unique across restarts that share
// a state directory. kRestart: "<n>", a counter from 1 per run, so ExecIDs repeat after a
// restart (FIX 4.4 promises ExecID uniqueness only within a trading day).
enum class ExecIdStyle { kUnique, kRestart };

// status_exec_id: the ExecID of ExecType=I (order status) reports. kFresh: a new ExecID, as for
// any report; kZero: "0", as FIX 4.4 describes ExecID for ExecType=I.
enum class StatusExecId { kFresh, kZero };

inline constexpr std::int64_t kDefaultSkipSeqNums = 5;
inline constexpr std::int64_t kMaxSkipSeqNums = 1'000'000;

struct EngineOptions {
  std::vector<Rule> rules;
  std::uint64_t run_number = 1;        // distinguishes ids across restarts
  std::size_t max_orders = 1'000'000;  // orders kept; beyond that new orders are rejected
  PossResendDuplicatePolicy poss_resend_duplicate = PossResendDuplicatePolicy::kReject;
  std::int64_t skip_seq_nums = kDefaultSkipSeqNums;  // numbers skipped per skip_seq_after
  bool skip_seq_after_unmatched = false;             // skip_seq_after for orders that match no rule
  StatusRequestPolicy status_requests = StatusRequestPolicy::kAnswer;
  ResentCancelPolicy resent_cancel = ResentCancelPolicy::kTooLate;
  ExecIdStyle exec_ids = ExecIdStyle::kUnique;
  StatusExecId status_exec_id = StatusExecId::kFresh;
};

struct EngineCounters {
  std::uint64_t new_orders = 0;  // accepted NewOrderSingles (incl. rejected by a rule)
  std::uint64_t duplicate_cl_ord_ids = 0;
  std::uint64_t invalid_orders = 0;  // rejected for a bad quantity or price
  std::uint64_t acks = 0;
  std::uint64_t fills = 0;
  std::uint64_t rejects = 0;  // rule rejects
  std::uint64_t cancels = 0;  // accepted cancels
  std::uint64_t cancel_rejects = 0;
  std::uint64_t cancel_resends = 0;  // cancels sent again (same ClOrdID and OrigClOrdID)
  std::uint64_t status_requests = 0;
  std::uint64_t status_unanswered = 0;   // answer_status = false
  std::uint64_t status_unsupported = 0;  // status_requests = "unsupported"
  std::uint64_t mass_status_requests = 0;
  std::uint64_t steps_skipped = 0;     // steps dropped because the order was closed first
  std::uint64_t report_copies = 0;     // duplicate_reports copies
  std::uint64_t disconnects = 0;       // disconnect faults
  std::uint64_t forgotten_orders = 0;  // disconnect = "before_placing"
  std::uint64_t seq_skips = 0;         // skip_seq_after faults
  std::uint64_t busts = 0;             // control file: ExecType=H sent
  std::uint64_t corrections = 0;       // control file: ExecType=G sent
  std::uint64_t restatements = 0;      // control file: ExecType=D sent
  std::uint64_t strays = 0;            // control file: stray reports sent
  std::uint64_t refused_commands = 0;  // control file: book commands that did nothing
};

class Engine {
 public:
  explicit Engine(EngineOptions options);

  // Handles one inbound request; answers due now (zero delays) are appended to `out`.
  void handle(const Inbound& in, SteadyMs now, std::vector<Outgoing>& out);
  // Runs every step due at or before `now`, in due order, appending answers to `out`.
  void run_due(SteadyMs now, std::vector<Outgoing>& out);
  // When run_due next has work, if ever.
  std::optional<SteadyMs> next_due() const;

  const EngineCounters& counters() const { return counters_; }
  std::size_t order_count() const { return orders_.size(); }

 private:
  // One fill of an order as booked now: a bust marks it, a correction changes it.
  struct FillRecord {
    std::string exec_id;  // the Trade report's ExecID
    Fixed qty;
    Fixed px;
    bool busted = false;
  };
  struct Order {
    std::string order_id;
    std::string cl_ord_id;
    std::string account;
    std::string symbol;
    char side = kSideBuy;
    char ord_type = fix44::kOrdTypeMarket;
    Fixed qty;
    std::optional<Fixed> price;
    std::string rule_name;
    Plan plan;
    DuplicateReports duplicates = DuplicateReports::kNone;
    bool answer_status = true;
    std::vector<ExtraTag> extra_tags;  // on every report of the order
    FieldOrder field_order = FieldOrder::kTag;
    std::size_t next_step = 0;
    // out_of_order: the reports built when the first step ran, in send order; next_step then
    // counts the reports sent.
    std::vector<ExecReportOut> held;
    SteadyMs received_at = 0;
    char ord_status = fix44::kStatusPendingNew;
    bool closed = false;
    Fixed cum_qty;
    Notional notional = 0;
    std::vector<FillRecord> fills;  // in booking order
  };
  struct Timer {
    SteadyMs due;
    std::uint64_t seq;  // FIFO among equal due times
    std::size_t order;
    friend bool operator>(const Timer& a, const Timer& b) {
      return a.due != b.due ? a.due > b.due : a.seq > b.seq;
    }
  };

  void on_new_order(const NewOrderIn& in, SteadyMs now, std::vector<Outgoing>& out);
  void on_cancel(const CancelIn& in, std::vector<Outgoing>& out);
  void on_status(const StatusIn& in, std::vector<Outgoing>& out);
  void on_mass_status(const MassStatusIn& in, std::vector<Outgoing>& out);
  // sim/book_corrections.cpp
  void on_book_command(const BookCommandIn& in, std::vector<Outgoing>& out);
  void bust(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out);
  void correct(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out);
  void restate(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out);
  void stray(const BookCommandIn& in, std::vector<Outgoing>& out);
  // The fill a bust or correction names (empty: the last live one), or nullptr with `error`.
  FillRecord* find_fill(Order& order, const std::string& exec_ref_id, std::string& error);
  // Quantity the order's remaining plan steps will still fill.
  Fixed planned_qty(const Order& order) const;
  // Recomputes cum_qty, notional, OrdStatus and closed from the order's live fills.
  void rebook(Order& order);
  void refuse(const BookCommandIn& in, const std::string& why, std::vector<Outgoing>& out);
  // True when the order that matched rule `rule_index` must drop the session.
  bool should_disconnect(std::optional<std::size_t> rule_index, const Action& action);
  void run_step(std::size_t index, std::vector<Outgoing>& out);
  void run_held(std::size_t index, std::vector<Outgoing>& out);
  // Applies one step to the order's state and returns its report.
  ExecReportOut apply_step(Order& order, const Step& step);
  // Appends a report of `order`, its duplicate copies and, if asked, a sequence skip.
  void emit(const Order& order, ExecReportOut report, bool skip_seq_after,
            std::vector<Outgoing>& out);
  void schedule_next(std::size_t index);
  ExecReportOut report(const Order& order, char exec_type);
  ExecReportOut reject_unknown(const NewOrderIn& in, int reason, std::string text);
  std::string next_exec_id();
  // The ExecID of a new report of `exec_type`: "0" for ExecType=I under StatusExecId::kZero.
  std::string exec_id_for(char exec_type);
  void check_invariants(const Order& order) const;

  EngineOptions options_;
  std::deque<Order> orders_;  // stable addresses; index = position
  std::unordered_map<std::string, std::size_t> order_by_cl_ord_id_;  // incl. cancel ids
  std::unordered_set<std::string> seen_cl_ord_ids_;  // every ClOrdID used up on D or F
  // ClOrdID of every cancel received with a fresh ClOrdID -> its OrigClOrdID, to tell a cancel
  // sent again from a reused ClOrdID.
  std::unordered_map<std::string, std::string> cancel_targets_;
  std::vector<bool> disconnect_fired_;  // per rule: has disconnected once
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t next_order_number_ = 1;
  std::uint64_t next_exec_number_ = 1;
  EngineCounters counters_;
};

}  // namespace brokergw::sim
