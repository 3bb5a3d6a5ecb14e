// The engine's control-file book commands (docs/SIMULATOR.md, "Busts, corrections,
// restatements, stray reports"): ExecType=H Trade Cancel and ExecType=G Trade Correct of one
// fill, with the order's CumQty, AvgPx, LeavesQty and OrdStatus booked again without it or with
// its new values; ExecType=D Restated with the order's current state; and a stray report for a
// ClOrdID the simulator never received, which then exists in the book like any order.
//
// Thread: members of Engine (sim/engine.h), so the engine thread only. Pure: no clock, no I/O.
//
// Invariants: a busted fill stays busted and is never corrected; a correction keeps the fill's
// ExecID (later commands name the fill by the ExecID of its Trade report); the order's booked
// quantity plus what its plan will still fill never exceeds the order quantity; a command that
// cannot be carried out changes nothing and sends nothing but a warning (NoticeOut).
#include <string>
#include <utility>

#include "sim/engine.h"

namespace brokergw::sim {
namespace {

std::string_view command_name(BookCommandKind kind) {
  switch (kind) {
    case BookCommandKind::kBust:
      return "bust";
    case BookCommandKind::kCorrect:
      return "correct";
    case BookCommandKind::kRestate:
      return "restate";
    case BookCommandKind::kStray:
      return "stray";
  }
  return "?";
}

std::string describe(Fixed qty, Fixed px) { return qty.to_string() + " @ " + px.to_string(); }

// The fixed facts of a stray order: 100 STRAY bought at market, filled at 100.
constexpr Fixed kStrayQty = Fixed::from_units(100);
constexpr Fixed kStrayPx = Fixed::from_units(100);

}  // namespace

void Engine::on_book_command(const BookCommandIn& in, std::vector<Outgoing>& out) {
  if (in.kind == BookCommandKind::kStray) {
    stray(in, out);
    return;
  }
  const auto known = order_by_cl_ord_id_.find(in.cl_ord_id);
  if (known == order_by_cl_ord_id_.end()) {
    refuse(in, "unknown ClOrdID", out);
    return;
  }
  Order& order = orders_[known->second];
  if (!order.held.empty()) {
    // out_of_order: the reports already decided still carry the old values.
    refuse(in, "its out-of-order reports are still being sent; try again after the last", out);
    return;
  }
  switch (in.kind) {
    case BookCommandKind::kBust:
      bust(order, in, out);
      break;
    case BookCommandKind::kCorrect:
      correct(order, in, out);
      break;
    case BookCommandKind::kRestate:
      restate(order, in, out);
      break;
    case BookCommandKind::kStray:
      break;
  }
}

void Engine::bust(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out) {
  std::string error;
  FillRecord* fill = find_fill(order, in.exec_ref_id, error);
  if (fill == nullptr) {
    refuse(in, error, out);
    return;
  }
  fill->busted = true;
  rebook(order);
  ++counters_.busts;
  ExecReportOut r = report(order, fix44::kExecTradeCancel);
  r.exec_ref_id = fill->exec_id;
  r.last_qty = fill->qty;
  r.last_px = fill->px;
  out.emplace_back(NoticeOut{false, "control: bust " + order.cl_ord_id + ": fill " + fill->exec_id +
                                        " (" + describe(fill->qty, fill->px) +
                                        ") canceled, CumQty now " + order.cum_qty.to_string()});
  emit(order, std::move(r), false, out);
}

void Engine::correct(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out) {
  std::string error;
  FillRecord* fill = find_fill(order, in.exec_ref_id, error);
  if (fill == nullptr) {
    refuse(in, error, out);
    return;
  }
  // The booked quantity with this fill's new quantity, plus what the plan will still fill.
  const auto rest = checked_sub(order.cum_qty, fill->qty);
  const auto booked = rest ? checked_add(*rest, in.last_qty) : std::nullopt;
  const auto total = booked ? checked_add(*booked, planned_qty(order)) : std::nullopt;
  if (!total || *total > order.qty) {
    refuse(in,
           "LastQty " + in.last_qty.to_string() + " would fill more than OrderQty " +
               order.qty.to_string() + " (counting the fills still planned)",
           out);
    return;
  }
  const std::string before = describe(fill->qty, fill->px);
  fill->qty = in.last_qty;
  fill->px = in.last_px;
  rebook(order);
  ++counters_.corrections;
  ExecReportOut r = report(order, fix44::kExecTradeCorrect);
  r.exec_ref_id = fill->exec_id;
  r.last_qty = fill->qty;
  r.last_px = fill->px;
  out.emplace_back(NoticeOut{false, "control: correct " + order.cl_ord_id + ": fill " +
                                        fill->exec_id + " " + before + " -> " +
                                        describe(fill->qty, fill->px) + ", CumQty now " +
                                        order.cum_qty.to_string()});
  emit(order, std::move(r), false, out);
}

void Engine::restate(Order& order, const BookCommandIn& in, std::vector<Outgoing>& out) {
  ++counters_.restatements;
  ExecReportOut r = report(order, fix44::kExecRestated);
  r.exec_restatement_reason = in.restatement_reason;
  out.emplace_back(NoticeOut{false, "control: restate " + order.cl_ord_id + " (reason " +
                                        std::to_string(in.restatement_reason) + ")"});
  emit(order, std::move(r), false, out);
}

void Engine::stray(const BookCommandIn& in, std::vector<Outgoing>& out) {
  if (seen_cl_ord_ids_.contains(in.cl_ord_id)) {
    refuse(in, "the simulator knows this ClOrdID; use bust, correct or restate", out);
    return;
  }
  if (orders_.size() >= options_.max_orders) {
    refuse(in, "simulator order table full (max_orders)", out);
    return;
  }
  seen_cl_ord_ids_.insert(in.cl_ord_id);
  Order order;
  order.order_id =
      "SIM-" + std::to_string(options_.run_number) + "-" + std::to_string(next_order_number_++);
  order.cl_ord_id = in.cl_ord_id;
  order.symbol = "STRAY";
  order.side = kSideBuy;
  order.ord_type = fix44::kOrdTypeMarket;
  order.qty = kStrayQty;
  order.rule_name = "stray";
  order.ord_status = fix44::kStatusNew;
  orders_.push_back(std::move(order));
  const std::size_t index = orders_.size() - 1;
  order_by_cl_ord_id_.emplace(in.cl_ord_id, index);
  Order& placed = orders_[index];
  ++counters_.strays;

  ExecReportOut r;
  if (in.stray == StrayReport::kAck) {
    r = report(placed, fix44::kExecNew);
  } else {
    placed.cum_qty = kStrayQty;
    placed.notional = notional_of(kStrayQty, kStrayPx);
    placed.ord_status = fix44::kStatusFilled;
    placed.closed = true;
    r = report(placed, fix44::kExecTrade);
    r.last_qty = kStrayQty;
    r.last_px = kStrayPx;
    placed.fills.push_back(FillRecord{r.exec_id, kStrayQty, kStrayPx, false});
  }
  check_invariants(placed);
  out.emplace_back(NoticeOut{
      false, "control: stray " + std::string(in.stray == StrayReport::kAck ? "ack" : "fill") +
                 " for " + in.cl_ord_id + " (" + placed.order_id + ")"});
  out.emplace_back(std::move(r));
}

Engine::FillRecord* Engine::find_fill(Order& order, const std::string& exec_ref_id,
                                      std::string& error) {
  if (exec_ref_id.empty()) {
    for (auto it = order.fills.rbegin(); it != order.fills.rend(); ++it) {
      if (!it->busted) return &*it;
    }
    error = order.fills.empty() ? "the order has no fill" : "every fill of the order is busted";
    return nullptr;
  }
  for (FillRecord& fill : order.fills) {
    if (fill.exec_id != exec_ref_id) continue;
    if (fill.busted) {
      error = "fill " + exec_ref_id + " is already busted";
      return nullptr;
    }
    return &fill;
  }
  error = "the order has no fill with ExecID " + exec_ref_id;
  return nullptr;
}

Fixed Engine::planned_qty(const Order& order) const {
  if (order.closed) return Fixed{};  // its remaining steps will not run
  std::int64_t planned = 0;
  for (std::size_t i = order.next_step; i < order.plan.steps.size(); ++i) {
    const Step& step = order.plan.steps[i];
    if (step.kind == StepKind::kFill) planned += step.last_qty.mantissa();
  }
  return Fixed::from_mantissa(planned);
}

void Engine::rebook(Order& order) {
  Fixed cum;
  Notional notional = 0;
  for (const FillRecord& fill : order.fills) {
    if (fill.busted) continue;
    cum = Fixed::from_mantissa(cum.mantissa() + fill.qty.mantissa());
    notional += notional_of(fill.qty, fill.px);
  }
  order.cum_qty = cum;
  order.notional = notional;
  // A canceled order stays canceled (nothing is left to fill); any other order is open again
  // unless its fills still add up to the whole quantity.
  if (order.ord_status != fix44::kStatusCanceled && order.ord_status != fix44::kStatusRejected) {
    const bool done = cum == order.qty;
    order.closed = done;
    order.ord_status = done                ? fix44::kStatusFilled
                       : cum.is_positive() ? fix44::kStatusPartiallyFilled
                                           : fix44::kStatusNew;
  }
  check_invariants(order);
}

void Engine::refuse(const BookCommandIn& in, const std::string& why, std::vector<Outgoing>& out) {
  ++counters_.refused_commands;
  out.emplace_back(NoticeOut{true, "control: " + std::string(command_name(in.kind)) + " " +
                                       in.cl_ord_id + ": nothing sent: " + why});
}

}  // namespace brokergw::sim
