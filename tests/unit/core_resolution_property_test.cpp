// Randomized property test for gateway/core/resolution.h: a pure simulation of one broker and of
// the gateway's loop around one order. Lane items go out through decide_dispatch, broker reports
// come back through triage_report, schedule entries fall due through decide_due, restarts go
// through decide_restart, and every decision is carried out the way the service does (write
// decision.order, apply the schedule op, queue or put the send on the wire, spend budget).
//
// Brokers: honest, lossy, hostile (every resend answered by a duplicate-ClOrdID reject, every
// status request by "unsupported"), a black hole, forgetful (never has the order), pending
// forever, and chaos (random reports of every kind). A noisy phase mixes in client cancels and
// replaces, session drops, restarts, a lagging reader and other orders spending the budget;
// then the client and the environment go quiet and the resolution must end.
//
// Properties: every decision keeps the header's invariants (resolution_oracle::violation);
// at most one kNewOrder per order reaches the wire; nothing is sent for a terminal order; no
// PossResend of an order never sent; at most max_attempts resolution attempts per resolution;
// and once quiet, within a bounded number of steps the order is settled or waits on
// Step::kAttention.
//
// Replay a failure with BROKERGW_SEED=<seed> (the seed is printed at the start of each run and
// in every failure's trace).
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/seeded.h"

#include "gateway/core/budget.h"
#include "gateway/core/resolution.h"

namespace brokergw::core {

// Defined in core_resolution_test.cpp.
void PrintTo(Step v, std::ostream* os);
void PrintTo(OrderState v, std::ostream* os);
namespace resolution_oracle {
enum class Fn { kDispatch, kTriage, kDue, kRestart };
bool settled(const Order& o);
std::optional<Wait> wait_after(const std::optional<Wait>& in, const Decision& d);
std::string wait_text(const std::optional<Wait>& w);
std::string describe(const Decision& d);
std::string violation(Fn fn, const Order& in, const std::optional<Wait>& in_wait, const Decision& d,
                      const BrokerRules& rules, TimestampUs now, std::optional<ReportKind> kind,
                      const DueContext* ctx);
}  // namespace resolution_oracle

namespace {

using resolution_oracle::describe;
using resolution_oracle::Fn;
using resolution_oracle::settled;
using resolution_oracle::wait_after;
using resolution_oracle::wait_text;

constexpr int kSequencesPerSeed = 250;
constexpr TimestampUs kStart = 1'700'000'000'000'000;

using proptest::kDefaultSeed;
using proptest::Rng;
using proptest::seeds;

enum class Mode { kHonest, kLossy, kHostile, kBlackHole, kForgetful, kPendingForever, kChaos };
constexpr int kModeCount = 7;
const char* mode_name(Mode m) {
  static constexpr std::array<const char*, kModeCount> names = {
      "honest", "lossy", "hostile", "black_hole", "forgetful", "pending_forever", "chaos"};
  return names[static_cast<std::size_t>(m)];
}
const char* fn_name(Fn f) {
  switch (f) {
    case Fn::kDispatch:
      return "dispatch";
    case Fn::kTriage:
      return "triage";
    case Fn::kDue:
      return "due";
    case Fn::kRestart:
      return "restart";
  }
  return "?";
}

struct Options {
  Mode mode = Mode::kHonest;
  BrokerRules rules;
  std::uint32_t budget_per_s = 0;
  std::uint32_t budget_in_flight = 0;
  TimestampUs budget_expire_us = 1;
  int noisy_steps = 0;
};

struct Coverage {
  std::array<int, kReasonCount> reasons{};
  std::array<int, kReportKindCount> kinds{};
  std::array<int, kModeCount> modes{};
  int ended_settled = 0;
  int ended_attention = 0;
  int restarts = 0;
  int fills_missing = 0;  // decisions that flagged fills the broker's total says we lack
};

struct Inbound {
  TimestampUs at;
  ReportKind kind;
  OrderEvent event;
  bool answers_resolution;  // an answer to a status query or resend: releases budget
  std::optional<Qty> cum;   // the broker's CumQty when it sent the report (it has the order)
};

class Sim {
 public:
  Sim(Rng& rng, const Options& opt, int sequence, Coverage& cov)
      : rng_(rng),
        opt_(opt),
        cov_(cov),
        budget_(opt.budget_per_s, opt.budget_in_flight, opt.budget_expire_us) {
    NewOrderRequest req;
    req.client_order_id = "CL-" + std::to_string(sequence);
    req.account = "ACC-1";
    req.broker = "broker-a";
    req.symbol = "AAPL";
    req.quantity = Qty{Decimal::from_units(100)};
    order_ = make_order(req, now_);
    lane_.push_back({Send::kNewOrder, false});  // accepted at intake: queued for its first send
  }

  // Runs the noisy phase, then the quiet one. Returns every broken property (none: empty).
  std::vector<std::string> run() {
    run_phases();
    std::vector<std::string> out = notes_;
    if (!failure_.empty()) out.push_back(failure_);
    return out;
  }

  const Order& order() const { return order_; }
  const std::optional<Wait>& wait() const { return wait_; }
  int new_order_sends() const { return new_order_sends_; }
  int resolution_sends() const { return resolution_wire_sends_; }
  std::uint32_t attempts_made() const { return attempts_total_; }

 private:
  void run_phases() {
    for (int i = 0; i < opt_.noisy_steps && failure_.empty(); ++i) noisy_step();
    if (!failure_.empty()) return;
    log("---- quiet: no client or environment actions from here");
    if (!session_up_) logon();
    reader_behind_ = false;
    const int cap = 60 * static_cast<int>(max_attempts() + 2) + 100;
    bool quiet = false;
    for (int i = 0; i < cap && failure_.empty(); ++i) {
      if (!lane_.empty()) {
        dispatch_one();
        continue;
      }
      if (!next_timed_event()) {
        quiet = true;
        break;
      }
    }
    if (!failure_.empty()) return;
    if (!quiet) {
      fail("the resolution did not end within " + std::to_string(cap) + " quiet steps");
    } else if (settled(order_)) {
      ++cov_.ended_settled;
    } else if (wait_ && wait_->step == Step::kAttention) {
      ++cov_.ended_attention;
    } else {
      fail("ended neither settled nor on attention: " + std::string(to_string(order_.state)) +
           " wait " + wait_text(wait_));
    }
  }

  static bool is_unknown(const Order& o) { return o.state == OrderState::kUnknownAtBroker; }
  std::uint32_t max_attempts() const { return opt_.rules.policy.backoff.max_attempts; }
  TimestampUs ack_us() const {
    return static_cast<TimestampUs>(opt_.rules.policy.ack_timeout_ms) * 1000;
  }

  void log(std::string line) {
    if (trace_.size() >= 40) trace_.pop_front();
    trace_.push_back("t+" + std::to_string((now_ - kStart) / 1000) + "ms " + std::move(line));
  }

  // A broken property after which the sequence goes on (the end must still be checked).
  void note(const std::string& why) {
    for (const auto& n : notes_) {
      if (n.rfind(why, 0) == 0) return;
    }
    notes_.push_back(with_context(why));
  }

  void fail(const std::string& why) {
    if (!failure_.empty()) return;
    failure_ = with_context(why);
  }

  std::string with_context(const std::string& why) const {
    std::string out = why + "\n  mode=" + mode_name(opt_.mode) +
                      " strategy=" + std::string(to_string(opt_.rules.policy.strategy)) +
                      " status_query=" + std::to_string(opt_.rules.caps.status_query) +
                      " max_attempts=" + std::to_string(max_attempts()) +
                      " ack_timeout_ms=" + std::to_string(opt_.rules.policy.ack_timeout_ms) +
                      " stale_ms=" + std::to_string(opt_.rules.policy.stale_order_age_ms) +
                      "\n  order: " + std::string(to_string(order_.state)) +
                      " before_pending=" + std::string(to_string(order_.state_before_pending)) +
                      " send_attempts=" + std::to_string(order_.send_attempts) +
                      " ack=" + std::to_string(order_.acknowledged) + " wait " + wait_text(wait_) +
                      "\n  last steps:";
    for (const auto& line : trace_) out += "\n    " + line;
    return out;
  }

  // ---- Carrying out decisions ----------------------------------------------------------------

  void execute(Fn fn, const Decision& d, const Order& in, const std::optional<Wait>& in_wait,
               std::optional<ReportKind> kind, const DueContext* ctx) {
    ++cov_.reasons[static_cast<std::size_t>(d.reason)];
    if (d.also == EventType::kFillsMissing) ++cov_.fills_missing;
    log(std::string(fn_name(fn)) + " on " + std::string(to_string(in.state)) + " wait " +
        wait_text(in_wait) + " -> " + describe(d));
    if (const std::string v =
            resolution_oracle::violation(fn, in, in_wait, d, opt_.rules, now_, kind, ctx);
        !v.empty()) {
      fail(std::string(fn_name(fn)) + " broke a promise: " + v);
      return;
    }
    if (d.order) order_ = *d.order;
    wait_ = wait_after(in_wait, d);
    if (d.probe) reader_behind_ = false;  // the adapter proves it has read everything
    if (d.uses_budget) budget_.take(now_);
    if (fn == Fn::kDue && d.send != Send::kNothing) {
      ++attempts_total_;
      if (++attempts_since_settled_ > max_attempts()) {
        fail("resolution attempt " + std::to_string(attempts_since_settled_) +
             " since the order was last settled; max_attempts is " +
             std::to_string(max_attempts()));
        return;
      }
    }
    if (d.send != Send::kNothing) {
      if (fn == Fn::kDispatch) {
        wire(d.send, in);
      } else {
        lane_.push_back({d.send, fn == Fn::kDue});  // decide_dispatch decides at send time
      }
    }
    if (settled(order_)) attempts_since_settled_ = 0;
  }

  void dispatch_one() {
    const LaneItem item = lane_.front();
    lane_.pop_front();
    const Order in = order_;
    const std::optional<Wait> w = wait_;
    const Decision d = decide_dispatch(in, item.send, w, opt_.rules, now_);
    execute(Fn::kDispatch, d, in, w, std::nullopt, nullptr);
    // An attempt decide_due counted must reach the broker while the order is still unknown:
    // otherwise attempts are spent without asking, and kAttention comes without any resolution.
    if (item.attempt && d.send == Send::kNothing && is_unknown(in) && is_unknown(order_)) {
      note("resolution attempt counted by decide_due, but decide_dispatch(" +
           std::string(to_string(item.send)) + ") sends nothing (" +
           std::string(to_string(d.reason)) + ") for the still unknown order");
    }
  }

  void fire_due() {
    const Order in = order_;
    const Wait w = *wait_;
    DueContext ctx;
    ctx.session_up = session_up_;
    ctx.inbound_read_up_to_us = reader_behind_ ? now_ - 1 - rng_.below(2 * ack_us()) : now_;
    ctx.budget_available = budget_.available(now_);
    ctx.budget_retry_us = budget_.next_available_us(now_);
    ctx.draw = rng_.next();
    execute(Fn::kDue, decide_due(in, w, opt_.rules, ctx, now_), in, w, std::nullopt, &ctx);
  }

  void deliver(const Inbound& m) {
    ++cov_.kinds[static_cast<std::size_t>(m.kind)];
    if (m.answers_resolution) budget_.answered();
    const Order in = order_;
    const std::optional<Wait> w = wait_;
    ReportFacts facts;
    facts.cum_qty = m.cum;
    execute(Fn::kTriage, triage_report(in, m.kind, m.event, w, opt_.rules, now_, facts), in, w,
            m.kind, nullptr);
  }

  // The earliest of: the next deliverable report, the order's entry falling due. False when
  // nothing is left to happen.
  bool next_timed_event() {
    std::optional<TimestampUs> due;
    if (wait_ && wait_->step != Step::kAttention && wait_->due_us != kNeverDue) {
      due = wait_->due_us;
    }
    auto first = inbox_.end();
    if (session_up_) {
      first = std::min_element(inbox_.begin(), inbox_.end(),
                               [](const Inbound& a, const Inbound& b) { return a.at < b.at; });
    }
    if (first != inbox_.end() && (!due || first->at <= *due)) {
      now_ = std::max(now_, first->at);
      const Inbound m = *first;
      inbox_.erase(first);
      deliver(m);
      return true;
    }
    if (due) {
      now_ = std::max(now_, *due);
      fire_due();
      return true;
    }
    return false;
  }

  // ---- The broker ----------------------------------------------------------------------------

  bool lossy() const { return opt_.mode == Mode::kLossy; }

  void answer(ReportKind kind, OrderEvent ev, bool resolution) {
    if (lossy() && rng_.one_in(3)) {
      log(std::string("broker answer lost: ") + std::string(to_string(kind)));
      return;
    }
    const TimestampUs delay =
        rng_.one_in(2) ? rng_.below(ack_us() / 4 + 1) : rng_.below(2 * ack_us() + 1);
    // Every report states the broker's total as it stands when sent, so reordered or lost
    // reports make the gateway see totals ahead of its fills (fills_missing).
    std::optional<Qty> cum;
    if (b_has_) cum = Qty{Decimal::from_units(b_cum_)};
    inbox_.push_back(Inbound{now_ + delay, kind, std::move(ev), resolution, cum});
  }

  EvStatus truth() const {
    EvStatus s;
    s.broker_state = b_state_;
    s.broker_order_id = "B-1";
    s.cum_qty = Qty{Decimal::from_units(b_cum_)};
    s.avg_price = b_cum_ > 0 ? Price{Decimal::from_units(10)} : Price{};
    return s;
  }
  bool b_live() const {
    return b_has_ && (b_state_ == OrderState::kNew || b_state_ == OrderState::kPartiallyFilled);
  }

  void maybe_fill() {
    if (!b_live() || !rng_.one_in(3)) return;
    const std::int64_t n = 1 + rng_.below(100 - b_cum_);
    b_cum_ += n;
    b_state_ = b_cum_ == 100 ? OrderState::kFilled : OrderState::kPartiallyFilled;
    answer(ReportKind::kFill,
           EvFill{"E-" + std::to_string(++exec_seq_), "B-1", Qty{Decimal::from_units(n)},
                  Price{Decimal::from_units(10)}},
           false);
  }

  OrderEvent random_event(ReportKind kind) {
    switch (kind) {
      case ReportKind::kAck:
        return EvAck{"B-1"};
      case ReportKind::kFill:
        return EvFill{"E-" + std::to_string(++exec_seq_), "B-1",
                      Qty{Decimal::from_units(rng_.one_in(10) ? 0 : 1 + rng_.below(60))},
                      Price{Decimal::from_units(rng_.below(20))}};
      case ReportKind::kReject:
      case ReportKind::kDuplicateClOrdId:
        return EvReject{"r"};
      case ReportKind::kCanceled:
        return EvCanceled{"c"};
      case ReportKind::kCancelRejected:
        return EvCancelRejected{"x"};
      case ReportKind::kReplaced:
        return EvReplaced{};
      case ReportKind::kReplaceRejected:
        return EvReplaceRejected{"x"};
      case ReportKind::kExpired:
        return EvExpired{};
      case ReportKind::kStatus: {
        EvStatus s;
        s.broker_state = static_cast<OrderState>(rng_.below(kOrderStateCount));
        s.broker_order_id = rng_.one_in(3) ? "" : "B-1";
        s.cum_qty = rng_.one_in(3) ? Qty{Decimal::from_units(100)}
                                   : Qty{Decimal::from_units(rng_.below(105))};
        s.avg_price = Price{Decimal::from_units(rng_.below(20))};
        return s;
      }
      case ReportKind::kStatusUnknown:
        return EvStatus{OrderState::kRejected, "", Qty{}, Price{}};
      case ReportKind::kBust:
        return EvBust{"E-1", Qty{Decimal::from_units(rng_.below(60))},
                      Price{Decimal::from_units(rng_.below(20))}};
      case ReportKind::kCorrection:
        return EvCorrect{"E-1", Qty{Decimal::from_units(rng_.below(60))},
                         Price{Decimal::from_units(rng_.below(20))},
                         Qty{Decimal::from_units(rng_.below(60))},
                         Price{Decimal::from_units(rng_.below(20))}};
      case ReportKind::kRestated:
        return EvRestated{"r"};
      case ReportKind::kCancelRejectedUnknownOrder:
        return EvCancelRejected{"unknown order"};
      case ReportKind::kStatusUnsupported:
      case ReportKind::kInformational:
      case ReportKind::kUnhandled:
      case ReportKind::kConflictingDuplicate:
      case ReportKind::kUnparseable:
        return EvStatus{};
    }
    return EvStatus{};
  }

  void chaos_answer(bool resolution) {
    const std::int64_t n = rng_.below(3);
    for (std::int64_t i = 0; i < n; ++i) {
      const auto kind = static_cast<ReportKind>(rng_.below(kReportKindCount));
      answer(kind, random_event(kind), resolution);
    }
  }

  void wire(Send s, const Order& before) {
    log(std::string("wire: ") + std::string(to_string(s)));
    if (is_terminal(before.state) || is_terminal(order_.state)) {
      fail("sent " + std::string(to_string(s)) + " for a terminal order");
      return;
    }
    if (s == Send::kNewOrder && ++new_order_sends_ > 1) {
      fail("a second kNewOrder reached the wire for the same ClOrdID");
      return;
    }
    if (s == Send::kResendNewOrder && before.send_attempts == 0) {
      fail("a PossResend of an order that was never sent");
      return;
    }
    if (s == Send::kStatusQuery || s == Send::kResendNewOrder) ++resolution_wire_sends_;
    const bool resolution = s == Send::kStatusQuery || s == Send::kResendNewOrder;
    switch (opt_.mode) {
      case Mode::kBlackHole:
        return;
      case Mode::kHostile:
        if (s == Send::kResendNewOrder)
          answer(ReportKind::kDuplicateClOrdId, EvReject{"dup"}, true);
        if (s == Send::kStatusQuery) answer(ReportKind::kStatusUnsupported, EvStatus{}, true);
        return;
      case Mode::kForgetful:
        if (s == Send::kStatusQuery) {
          answer(ReportKind::kStatusUnknown, random_event(ReportKind::kStatusUnknown), true);
        }
        if (s == Send::kCancel) answer(ReportKind::kCancelRejected, EvCancelRejected{"?"}, false);
        return;
      case Mode::kPendingForever:
        if (s == Send::kResendNewOrder)
          answer(ReportKind::kDuplicateClOrdId, EvReject{"dup"}, true);
        if (s == Send::kStatusQuery) {
          answer(ReportKind::kStatus, EvStatus{OrderState::kPendingNew, "", Qty{}, Price{}}, true);
        }
        return;
      case Mode::kChaos:
        chaos_answer(resolution);
        return;
      case Mode::kHonest:
      case Mode::kLossy:
        break;
    }
    if (lossy() && rng_.one_in(3)) {
      log("message lost on the way to the broker");
      return;
    }
    switch (s) {
      case Send::kNewOrder:
      case Send::kResendNewOrder:
        if (!b_has_) {
          b_has_ = true;
          if (rng_.one_in(8)) {
            b_state_ = OrderState::kRejected;
            answer(ReportKind::kReject, EvReject{"unknown symbol"}, resolution);
          } else {
            b_state_ = OrderState::kNew;
            answer(ReportKind::kAck, EvAck{"B-1"}, resolution);
            maybe_fill();
          }
        } else if (rng_.one_in(2)) {
          answer(ReportKind::kDuplicateClOrdId, EvReject{"duplicate ClOrdID"}, resolution);
        } else {
          answer(ReportKind::kStatus, truth(), resolution);
        }
        return;
      case Send::kCancel:
        if (b_live()) {
          b_state_ = OrderState::kCanceled;
          answer(ReportKind::kCanceled, EvCanceled{"client request"}, false);
        } else {
          answer(ReportKind::kCancelRejected,
                 EvCancelRejected{b_has_ ? "too late to cancel" : "unknown order"}, false);
        }
        return;
      case Send::kStatusQuery:
        if (b_has_) {
          answer(ReportKind::kStatus, truth(), true);
        } else {
          answer(ReportKind::kStatusUnknown, EvStatus{OrderState::kRejected, "", Qty{}, Price{}},
                 true);
        }
        return;
      case Send::kNothing:
        return;
    }
  }

  void broker_replace() {
    if (opt_.mode == Mode::kChaos) return chaos_answer(false);
    if (opt_.mode != Mode::kHonest && opt_.mode != Mode::kLossy) return;
    if (lossy() && rng_.one_in(3)) return;
    if (b_live() && rng_.one_in(2)) {
      b_state_ = OrderState::kReplaced;
      answer(ReportKind::kReplaced, EvReplaced{}, false);
    } else {
      answer(ReportKind::kReplaceRejected, EvReplaceRejected{"no"}, false);
    }
  }

  void spontaneous() {
    if (opt_.mode == Mode::kChaos) {
      const auto kind = static_cast<ReportKind>(rng_.below(kReportKindCount));
      answer(kind, random_event(kind), false);
      return;
    }
    if (opt_.mode != Mode::kHonest && opt_.mode != Mode::kLossy) return;
    if (b_live() && rng_.one_in(6)) {
      b_state_ = OrderState::kExpired;
      answer(ReportKind::kExpired, EvExpired{}, false);
      return;
    }
    maybe_fill();
  }

  // ---- The environment ------------------------------------------------------------------------

  void logon() {
    session_up_ = true;
    log("logon");
    if (query_after_logon(order_, opt_.rules)) lane_.push_back({Send::kStatusQuery, false});
  }

  void restart() {
    ++cov_.restarts;
    log("restart");
    lane_.clear();
    reader_behind_ = false;
    budget_ = ResolutionBudget(opt_.budget_per_s, opt_.budget_in_flight, opt_.budget_expire_us);
    if (!is_terminal(order_.state)) {
      const Order in = order_;
      const std::optional<Wait> w = wait_;
      execute(Fn::kRestart, decide_restart(in, w, opt_.rules, now_), in, w, std::nullopt, nullptr);
    }
    if (session_up_) logon();
  }

  void client_cancel() {
    if (is_terminal(order_.state)) return;
    auto r = apply(order_, EvCancelRequested{"X-" + std::to_string(++cancel_seq_)}, now_);
    if (!r) return;  // a cancel or replace is already in flight
    log("client cancel accepted");
    order_ = r->order;
    // As the service accepts a cancel: the cancel's deadline when the order now awaits the
    // broker (a resolution in progress keeps counting), and the cancel queued in the lane.
    if (awaits_broker(order_)) {
      wait_ = Wait{Step::kDeadline, now_ + ack_us(), wait_ ? wait_->attempt : 0};
    }
    lane_.push_back({Send::kCancel, false});
  }

  void client_replace() {
    auto r = apply(order_, EvReplaceRequested{"R-" + std::to_string(++cancel_seq_)}, now_);
    if (!r) return;
    log("client replace accepted");
    order_ = r->order;
    if (awaits_broker(order_)) {
      wait_ = Wait{Step::kDeadline, now_ + ack_us(), wait_ ? wait_->attempt : 0};
    }
    if (session_up_) broker_replace();
  }

  void noisy_step() {
    const std::int64_t pick = rng_.below(100);
    if (pick < 45) {
      if (!lane_.empty() && session_up_) {
        dispatch_one();
      } else if (!next_timed_event()) {
        now_ += 1 + rng_.below(3 * ack_us());
      }
    } else if (pick < 60) {
      if (!next_timed_event()) now_ += 1 + rng_.below(3 * ack_us());
    } else if (pick < 66) {
      client_cancel();
    } else if (pick < 68) {
      client_replace();
    } else if (pick < 74) {
      if (session_up_) {
        session_up_ = false;
        log("session down");
        std::erase_if(inbox_, [&](const Inbound&) { return rng_.one_in(2); });
      } else {
        logon();
      }
    } else if (pick < 77) {
      restart();
    } else if (pick < 81) {
      reader_behind_ = true;
      log("reader falls behind");
    } else if (pick < 85) {
      budget_.take(now_);  // another order of this broker spends budget
    } else if (pick < 92) {
      spontaneous();
    } else {
      now_ += 1 + rng_.below(3 * ack_us());
    }
  }

  Rng& rng_;
  Options opt_;
  Coverage& cov_;
  ResolutionBudget budget_;
  TimestampUs now_ = kStart;
  Order order_;
  std::optional<Wait> wait_;
  struct LaneItem {
    Send send;
    bool attempt;  // queued by decide_due: a counted resolution attempt
  };
  std::deque<LaneItem> lane_;
  std::vector<Inbound> inbox_;
  bool session_up_ = true;
  bool reader_behind_ = false;
  // The broker's truth (honest and lossy brokers).
  bool b_has_ = false;
  OrderState b_state_ = OrderState::kNew;
  std::int64_t b_cum_ = 0;
  int exec_seq_ = 0;
  int cancel_seq_ = 0;
  // Counters.
  int new_order_sends_ = 0;
  int resolution_wire_sends_ = 0;
  std::uint32_t attempts_since_settled_ = 0;
  std::uint32_t attempts_total_ = 0;
  std::deque<std::string> trace_;
  std::vector<std::string> notes_;
  std::string failure_;
};

Options random_options(Rng& rng) {
  Options o;
  o.mode = static_cast<Mode>(rng.below(kModeCount));
  BrokerRules& r = o.rules;
  r.policy.strategy = rng.one_in(2) ? Strategy::kStatusQuery : Strategy::kResend;
  r.caps.status_query = !rng.one_in(4);
  r.policy.ack_timeout_ms = 500 + static_cast<std::uint64_t>(rng.below(2500));
  r.policy.backoff.base_ms = 1000 + static_cast<std::uint64_t>(rng.below(4000));
  r.policy.backoff.cap_ms = r.policy.backoff.base_ms * 8;
  r.policy.backoff.max_attempts = 1 + static_cast<std::uint32_t>(rng.below(5));
  r.policy.backoff.jitter_pct = static_cast<std::uint32_t>(rng.below(21));
  r.policy.stale_order_age_ms = rng.one_in(4) ? r.policy.ack_timeout_ms * 3 : 0;
  r.policy.query_on_reconnect = !rng.one_in(4);
  o.budget_per_s = static_cast<std::uint32_t>(rng.below(4));
  o.budget_in_flight = static_cast<std::uint32_t>(rng.below(3));
  o.budget_expire_us = static_cast<TimestampUs>(r.policy.ack_timeout_ms) * 2000;
  o.noisy_steps = static_cast<int>(rng.below(81));
  return o;
}

// A broken property, reported once per kind (its first line) with how often it happened and
// the first example, so that one bug does not hide the others.
struct Failures {
  struct Kind {
    int count = 0;
    std::string example;
  };
  std::vector<std::pair<std::string, Kind>> kinds;
  void add(const std::string& where, const std::string& failure) {
    const std::string head = failure.substr(0, failure.find('\n'));
    for (auto& [h, k] : kinds) {
      if (h == head) {
        ++k.count;
        return;
      }
    }
    kinds.push_back({head, Kind{1, where + ": " + failure}});
  }
  void report() const {
    for (const auto& [head, k] : kinds) {
      ADD_FAILURE() << k.count << " sequence(s): " << head << "\nfirst: " << k.example;
    }
  }
};

TEST(ResolutionProperty, EveryResolutionEndsAndNoInvariantBreaks) {
  Coverage cov;
  Failures failures;
  for (const std::uint64_t seed : seeds()) {
    // Printed up front as well: a broken invariant inside check_invariants aborts before any
    // trace.
    std::printf("[ seed     ] BROKERGW_SEED=%llu\n", static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    Rng rng(seed);
    for (int sequence = 0; sequence < kSequencesPerSeed; ++sequence) {
      const Options opt = random_options(rng);
      ++cov.modes[static_cast<std::size_t>(opt.mode)];
      Sim sim(rng, opt, sequence, cov);
      for (const std::string& failure : sim.run()) {
        failures.add(
            "BROKERGW_SEED=" + std::to_string(seed) + " sequence=" + std::to_string(sequence),
            failure);
      }
      ASSERT_LE(sim.new_order_sends(), 1);
    }
  }
  failures.report();
  // The generator must reach the paths whose properties are claimed; otherwise they prove little.
  for (int m = 0; m < kModeCount; ++m) EXPECT_GT(cov.modes[static_cast<std::size_t>(m)], 0);
  for (int k = 0; k < kReportKindCount; ++k) {
    EXPECT_GT(cov.kinds[static_cast<std::size_t>(k)], 0)
        << to_string(static_cast<ReportKind>(k)) << " never triaged";
  }
  EXPECT_GT(cov.ended_settled, 0);
  EXPECT_GT(cov.ended_attention, 0);
  EXPECT_GT(cov.restarts, 0);
  EXPECT_GT(cov.fills_missing, 0) << "lost or reordered reports never showed a total ahead";
  for (const Reason r :
       {Reason::kFirstSend, Reason::kSilence, Reason::kAttempt, Reason::kAttemptsExhausted,
        Reason::kReaderBehind, Reason::kSessionDown, Reason::kBudget, Reason::kDuplicateClOrdId,
        Reason::kStatusUnsupported, Reason::kNotAtBrokerResend, Reason::kStatusAdopted,
        Reason::kInFlightAtRestart, Reason::kScheduleContinues, Reason::kRequeue, Reason::kStale,
        Reason::kLateReport, Reason::kRefused}) {
    EXPECT_GT(cov.reasons[static_cast<std::size_t>(r)], 0) << to_string(r) << " never decided";
  }
  std::printf("[ coverage ] settled=%d attention=%d restarts=%d\n", cov.ended_settled,
              cov.ended_attention, cov.restarts);
}

// Brokers that never settle the order: each resolution must end on attention after at most
// max_attempts attempts (counting the sends), with exactly one first send and no noise at all.
TEST(ResolutionProperty, UnanswerableBrokersReachAttentionWithinMaxAttempts) {
  Coverage cov;
  for (const std::uint64_t seed : seeds()) {
    std::printf("[ seed     ] BROKERGW_SEED=%llu\n", static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    Rng rng(seed);
    int sequence = 0;
    for (const Mode mode :
         {Mode::kHostile, Mode::kBlackHole, Mode::kForgetful, Mode::kPendingForever}) {
      for (const Strategy strategy : {Strategy::kStatusQuery, Strategy::kResend}) {
        for (const bool caps : {true, false}) {
          for (std::uint32_t max = 1; max <= 6; ++max) {
            Options opt;
            opt.mode = mode;
            opt.rules.policy.strategy = strategy;
            opt.rules.caps.status_query = caps;
            opt.rules.policy.ack_timeout_ms = 500 + static_cast<std::uint64_t>(rng.below(2500));
            opt.rules.policy.backoff = BackoffPolicy{1000, 8000, max, 10};
            opt.noisy_steps = 0;
            Sim sim(rng, opt, ++sequence, cov);
            const std::vector<std::string> failures = sim.run();
            SCOPED_TRACE(testing::Message()
                         << "BROKERGW_SEED=" << seed << " mode=" << mode_name(mode)
                         << " strategy=" << to_string(strategy) << " status_query=" << caps
                         << " max_attempts=" << max);
            ASSERT_TRUE(failures.empty()) << failures.front();
            EXPECT_EQ(sim.new_order_sends(), 1);
            EXPECT_LE(sim.attempts_made(), max);
            EXPECT_LE(sim.resolution_sends(), static_cast<int>(max)) << "counting the sends";
            // The broker never acknowledges anything: only an operator can end it.
            ASSERT_TRUE(sim.wait().has_value()) << to_string(sim.order().state);
            EXPECT_EQ(sim.wait()->step, Step::kAttention);
            EXPECT_EQ(sim.order().state, OrderState::kUnknownAtBroker);
            if (HasFailure()) return;
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace brokergw::core
