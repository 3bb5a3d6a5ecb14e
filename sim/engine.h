// The simulated broker's order book: receives new orders, cancels and status requests as plain
// structs, runs each order's Plan (sim/rules.h) on a timer, and produces FIX-shaped answers as
// plain structs. Pure: no QuickFIX types, no clock (time comes in as `now`), no threads.
//
// Thread: not thread-safe; EngineRunner (sim/engine_runner.h) owns it and calls it from its one
// engine thread only.
//
// Invariants (checked, stay on):
//   - an order's cum_qty never exceeds its quantity; leaves = qty - cum while open, 0 when closed;
//   - once an order is closed (filled, canceled, rejected) none of its remaining steps runs;
//   - a ClOrdID is accepted at most once (orders and cancels share one namespace);
//   - OrderIDs and ExecIDs carry the run number, so they never repeat across restarts that share
//     a state directory.
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
inline constexpr char kExecTrade = 'F';
inline constexpr char kExecOrderStatus = 'I';
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
};

using Inbound = std::variant<NewOrderIn, CancelIn, StatusIn>;

// ---- Outgoing (turned into FIX by the adapter) ----

struct ExecReportOut {
  std::string order_id;
  std::string cl_ord_id;
  std::string orig_cl_ord_id;  // empty = absent
  std::string exec_id;
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
  std::string text;               // empty = absent
  std::string ord_status_req_id;  // empty = absent
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

using Outgoing = std::variant<ExecReportOut, CancelRejectOut>;

// ---- Engine ----

// What the simulator answers to a NewOrderSingle whose ClOrdID it has seen before and that
// carries PossResend=Y. The FIX spec asks for a status report; brokergw's tests default to the
// stricter reject so that a resend which is really a second order shows up.
enum class PossResendDuplicatePolicy { kReject, kStatus };

struct EngineOptions {
  std::vector<Rule> rules;
  std::uint64_t run_number = 1;        // distinguishes ids across restarts
  std::size_t max_orders = 1'000'000;  // orders kept; beyond that new orders are rejected
  PossResendDuplicatePolicy poss_resend_duplicate = PossResendDuplicatePolicy::kReject;
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
  std::uint64_t status_requests = 0;
  std::uint64_t steps_skipped = 0;  // steps dropped because the order was closed first
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
    std::size_t next_step = 0;
    SteadyMs received_at = 0;
    char ord_status = fix44::kStatusPendingNew;
    bool closed = false;
    Fixed cum_qty;
    Notional notional = 0;
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
  void run_step(std::size_t index, std::vector<Outgoing>& out);
  void schedule_next(std::size_t index);
  ExecReportOut report(const Order& order, char exec_type);
  ExecReportOut reject_unknown(const NewOrderIn& in, int reason, std::string text);
  std::string next_exec_id();
  void check_invariants(const Order& order) const;

  EngineOptions options_;
  std::deque<Order> orders_;  // stable addresses; index = position
  std::unordered_map<std::string, std::size_t> order_by_cl_ord_id_;  // incl. cancel ids
  std::unordered_set<std::string> seen_cl_ord_ids_;  // every ClOrdID received on D or F
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::uint64_t timer_seq_ = 0;
  std::uint64_t next_order_number_ = 1;
  std::uint64_t next_exec_number_ = 1;
  EngineCounters counters_;
};

}  // namespace brokergw::sim
