#include "sim/engine.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace brokergw::sim {
namespace {

// Invariants stay on in every build: a broken one stops the simulator rather than letting it
// send a wrong fill to the system under test.
[[noreturn]] void invariant_failed(const char* what, const std::string& order_id) {
  std::fprintf(stderr, "brokersim: invariant broken (%s) on order %s\n", what, order_id.c_str());
  std::abort();
}

}  // namespace

Engine::Engine(EngineOptions options)
    : options_(std::move(options)), disconnect_fired_(options_.rules.size(), false) {}

void Engine::handle(const Inbound& in, SteadyMs now, std::vector<Outgoing>& out) {
  if (const auto* order = std::get_if<NewOrderIn>(&in)) {
    on_new_order(*order, now, out);
  } else if (const auto* cancel = std::get_if<CancelIn>(&in)) {
    on_cancel(*cancel, out);
  } else if (const auto* status = std::get_if<StatusIn>(&in)) {
    on_status(*status, out);
  } else if (const auto* mass = std::get_if<MassStatusIn>(&in)) {
    on_mass_status(*mass, out);
  } else if (const auto* command = std::get_if<BookCommandIn>(&in)) {
    on_book_command(*command, out);
  }
  run_due(now, out);
}

void Engine::run_due(SteadyMs now, std::vector<Outgoing>& out) {
  while (!timers_.empty() && timers_.top().due <= now) {
    const Timer timer = timers_.top();
    timers_.pop();
    run_step(timer.order, out);
  }
}

std::optional<SteadyMs> Engine::next_due() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.top().due;
}

void Engine::on_new_order(const NewOrderIn& in, SteadyMs now, std::vector<Outgoing>& out) {
  if (seen_cl_ord_ids_.contains(in.cl_ord_id)) {
    ++counters_.duplicate_cl_ord_ids;
    const auto known = order_by_cl_ord_id_.find(in.cl_ord_id);
    if (in.poss_resend && options_.poss_resend_duplicate == PossResendDuplicatePolicy::kStatus &&
        known != order_by_cl_ord_id_.end()) {
      ExecReportOut status = report(orders_[known->second], fix44::kExecOrderStatus);
      status.cl_ord_id = in.cl_ord_id;
      status.text = "PossResend of a known ClOrdID";
      out.emplace_back(std::move(status));
      return;
    }
    out.emplace_back(reject_unknown(in, fix44::kOrdRejDuplicateOrder, "duplicate ClOrdID"));
    return;
  }

  const std::optional<Fixed> qty = in.order_qty ? Fixed::parse(*in.order_qty) : std::nullopt;
  if (!qty || !qty->is_positive()) {
    seen_cl_ord_ids_.insert(in.cl_ord_id);
    ++counters_.invalid_orders;
    out.emplace_back(reject_unknown(in, fix44::kOrdRejIncorrectQuantity,
                                    in.order_qty ? "OrderQty must be a positive decimal with at "
                                                   "most 8 fraction digits"
                                                 : "OrderQty(38) missing"));
    return;
  }
  std::optional<Fixed> price;
  if (in.price) {
    price = Fixed::parse(*in.price);
    if (!price || !price->is_positive()) {
      seen_cl_ord_ids_.insert(in.cl_ord_id);
      ++counters_.invalid_orders;
      out.emplace_back(
          reject_unknown(in, fix44::kOrdRejOther,
                         "Price must be a positive decimal with at most 8 fraction digits"));
      return;
    }
  }
  if (orders_.size() >= options_.max_orders) {
    seen_cl_ord_ids_.insert(in.cl_ord_id);
    ++counters_.invalid_orders;
    out.emplace_back(
        reject_unknown(in, fix44::kOrdRejOther, "simulator order table full (max_orders)"));
    return;
  }

  const OrderFacts facts{in.symbol, in.account, in.side, *qty, price};
  const std::optional<std::size_t> rule_index = find_rule(options_.rules, facts);
  Action unmatched;
  if (!rule_index) {
    unmatched = default_action();
    unmatched.skip_seq_after = options_.skip_seq_after_unmatched;
  }
  const Action& action = rule_index ? options_.rules[*rule_index].action : unmatched;
  const std::string rule_name = rule_index ? options_.rules[*rule_index].name : "default";

  if (should_disconnect(rule_index, action)) {
    ++counters_.disconnects;
    if (action.disconnect == DisconnectMode::kBeforePlacing) {
      // As if the message never arrived: no order, and the ClOrdID stays free for a resend.
      ++counters_.forgotten_orders;
      out.emplace_back(DisconnectOut{"rule " + rule_name + ": disconnect before placing " +
                                     in.cl_ord_id + " (order forgotten)"});
      return;
    }
    out.emplace_back(
        DisconnectOut{"rule " + rule_name + ": disconnect after placing " + in.cl_ord_id});
  }

  seen_cl_ord_ids_.insert(in.cl_ord_id);
  Order order;
  order.order_id =
      "SIM-" + std::to_string(options_.run_number) + "-" + std::to_string(next_order_number_++);
  order.cl_ord_id = in.cl_ord_id;
  order.account = in.account;
  order.symbol = in.symbol;
  order.side = in.side;
  order.ord_type = in.ord_type;
  order.qty = *qty;
  order.price = price;
  order.rule_name = rule_name;
  order.plan = plan_order(action, facts);
  order.duplicates = action.duplicate_reports;
  order.answer_status = action.answer_status;
  order.extra_tags = action.extra_tags;
  order.field_order = action.field_order;
  order.received_at = now;
  orders_.push_back(std::move(order));
  const std::size_t index = orders_.size() - 1;
  order_by_cl_ord_id_.emplace(in.cl_ord_id, index);
  ++counters_.new_orders;
  schedule_next(index);
}

void Engine::on_cancel(const CancelIn& in, std::vector<Outgoing>& out) {
  const bool fresh_id = seen_cl_ord_ids_.insert(in.cl_ord_id).second;
  bool resent = false;  // the same cancel request again (same ClOrdID, same OrigClOrdID)
  if (fresh_id) {
    cancel_targets_.emplace(in.cl_ord_id, in.orig_cl_ord_id);
  } else if (const auto target = cancel_targets_.find(in.cl_ord_id);
             target != cancel_targets_.end() && target->second == in.orig_cl_ord_id) {
    resent = true;
    ++counters_.cancel_resends;
  }
  // A reused ClOrdID that is not this cancel sent again, or any reuse under kDuplicate.
  const bool duplicate =
      !fresh_id && (!resent || options_.resent_cancel == ResentCancelPolicy::kDuplicate);
  const auto known = order_by_cl_ord_id_.find(in.orig_cl_ord_id);

  CancelRejectOut reject;
  reject.cl_ord_id = in.cl_ord_id;
  reject.orig_cl_ord_id = in.orig_cl_ord_id;
  if (known == order_by_cl_ord_id_.end()) {
    reject.order_id = "NONE";
    reject.ord_status = fix44::kStatusRejected;
    reject.cxl_rej_reason = fix44::kCxlRejUnknownOrder;
    reject.text = duplicate ? "duplicate ClOrdID; unknown OrigClOrdID" : "unknown OrigClOrdID";
    ++counters_.cancel_rejects;
    out.emplace_back(std::move(reject));
    return;
  }
  Order& order = orders_[known->second];
  reject.order_id = order.order_id;
  reject.account = order.account;
  reject.ord_status = order.ord_status;
  if (duplicate) {
    ++counters_.duplicate_cl_ord_ids;
    reject.cxl_rej_reason = fix44::kCxlRejDuplicateClOrdId;
    reject.text = "duplicate ClOrdID";
    ++counters_.cancel_rejects;
    out.emplace_back(std::move(reject));
    return;
  }
  if (order.closed) {
    reject.cxl_rej_reason = fix44::kCxlRejTooLate;
    reject.text =
        order.ord_status == fix44::kStatusCanceled ? "order already canceled" : "order is closed";
    ++counters_.cancel_rejects;
    out.emplace_back(std::move(reject));
    return;
  }

  // Open: a fresh cancel, or one sent again whose first copy found no order (the order arrived
  // since); either way its ClOrdID has not been accepted before.
  order.closed = true;
  order.ord_status = fix44::kStatusCanceled;
  order_by_cl_ord_id_.emplace(in.cl_ord_id, known->second);
  ++counters_.cancels;
  check_invariants(order);
  ExecReportOut canceled = report(order, fix44::kExecCanceled);
  canceled.cl_ord_id = in.cl_ord_id;
  canceled.orig_cl_ord_id = in.orig_cl_ord_id;
  emit(order, std::move(canceled), false, out);
}

void Engine::on_status(const StatusIn& in, std::vector<Outgoing>& out) {
  ++counters_.status_requests;
  if (options_.status_requests == StatusRequestPolicy::kUnsupported) {
    // A broker without status requests refuses the message type, whatever the order.
    ++counters_.status_unsupported;
    out.emplace_back(BusinessRejectOut{"H", in.msg_seq_num, in.cl_ord_id,
                                       fix44::kBusinessRejectUnsupportedMessageType,
                                       "OrderStatusRequest not supported"});
    return;
  }
  const auto known = order_by_cl_ord_id_.find(in.cl_ord_id);
  if (known == order_by_cl_ord_id_.end()) {
    ExecReportOut unknown;
    unknown.order_id = "NONE";
    unknown.cl_ord_id = in.cl_ord_id;
    unknown.exec_id = exec_id_for(fix44::kExecOrderStatus);
    unknown.exec_type = fix44::kExecOrderStatus;
    unknown.ord_status = fix44::kStatusRejected;
    unknown.symbol = in.symbol;
    unknown.side = in.side;
    unknown.ord_rej_reason = fix44::kOrdRejUnknownOrder;
    unknown.text = "unknown ClOrdID";
    unknown.ord_status_req_id = in.ord_status_req_id;
    out.emplace_back(std::move(unknown));
    return;
  }
  const Order& order = orders_[known->second];
  if (!order.answer_status) {
    ++counters_.status_unanswered;  // a broker that cannot look the order up
    return;
  }
  ExecReportOut status = report(order, fix44::kExecOrderStatus);
  status.cl_ord_id = in.cl_ord_id;
  status.ord_status_req_id = in.ord_status_req_id;
  out.emplace_back(std::move(status));
}

void Engine::on_mass_status(const MassStatusIn& in, std::vector<Outgoing>& out) {
  ++counters_.mass_status_requests;
  const bool by_symbol = in.mass_status_req_type == fix44::kMassStatusForSecurity;
  if (!by_symbol && in.mass_status_req_type != fix44::kMassStatusForAllOrders) {
    out.emplace_back(
        BusinessRejectOut{"AF", in.msg_seq_num, in.mass_status_req_id, fix44::kBusinessRejectOther,
                          "MassStatusReqType " + std::to_string(in.mass_status_req_type) +
                              " not supported (1 and 7 are)"});
    return;
  }
  if (by_symbol && in.symbol.empty()) {
    out.emplace_back(BusinessRejectOut{"AF", in.msg_seq_num, in.mass_status_req_id,
                                       fix44::kBusinessRejectConditionallyRequiredFieldMissing,
                                       "MassStatusReqType 1 needs Symbol(55)"});
    return;
  }

  std::vector<std::size_t> selected;
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    if (!by_symbol || orders_[i].symbol == in.symbol) selected.push_back(i);
  }
  if (selected.empty()) {
    // One report that says "nothing", so the requester need not wait for a timeout.
    ExecReportOut none;
    none.order_id = "NONE";
    none.exec_id = exec_id_for(fix44::kExecOrderStatus);
    none.exec_type = fix44::kExecOrderStatus;
    none.ord_status = fix44::kStatusRejected;
    none.symbol = in.symbol;
    none.side = in.side != 0 ? in.side : kSideBuy;
    none.text = "no orders";
    none.mass_status_req_id = in.mass_status_req_id;
    none.tot_num_reports = 0;
    none.last_rpt_requested = true;
    out.emplace_back(std::move(none));
    return;
  }
  const int total = static_cast<int>(selected.size());
  for (std::size_t k = 0; k < selected.size(); ++k) {
    ExecReportOut status = report(orders_[selected[k]], fix44::kExecOrderStatus);
    status.mass_status_req_id = in.mass_status_req_id;
    status.tot_num_reports = total;
    status.last_rpt_requested = k + 1 == selected.size();
    out.emplace_back(std::move(status));
  }
}

bool Engine::should_disconnect(std::optional<std::size_t> rule_index, const Action& action) {
  if (!rule_index || action.disconnect == DisconnectMode::kNone) return false;
  if (disconnect_fired_[*rule_index] && !action.disconnect_every) return false;
  disconnect_fired_[*rule_index] = true;
  return true;
}

void Engine::schedule_next(std::size_t index) {
  const Order& order = orders_[index];
  if (order.next_step >= order.plan.steps.size()) return;
  const SteadyMs due = order.received_at + order.plan.steps[order.next_step].at_ms;
  timers_.push(Timer{due, timer_seq_++, index});
}

void Engine::run_step(std::size_t index, std::vector<Outgoing>& out) {
  Order& order = orders_[index];
  if (!order.plan.send_order.empty()) {
    run_held(index, out);
    return;
  }
  if (order.closed) {
    // Canceled (or otherwise closed) while this step waited: it must not happen.
    counters_.steps_skipped += order.plan.steps.size() - order.next_step;
    order.next_step = order.plan.steps.size();
    return;
  }
  const Step& step = order.plan.steps[order.next_step++];
  ExecReportOut r = apply_step(order, step);
  check_invariants(order);
  emit(order, std::move(r), step.skip_seq_after, out);
  schedule_next(index);
}

void Engine::run_held(std::size_t index, std::vector<Outgoing>& out) {
  Order& order = orders_[index];
  const Plan& plan = order.plan;
  if (order.next_step == 0) {
    if (order.closed) {
      // Canceled before the first report: nothing was decided yet, nothing is sent.
      counters_.steps_skipped += plan.steps.size();
      order.next_step = plan.steps.size();
      return;
    }
    // The broker executes the whole plan now; only the reports travel out of order.
    std::vector<ExecReportOut> built;
    built.reserve(plan.steps.size());
    for (const Step& step : plan.steps) {
      built.push_back(apply_step(order, step));
      check_invariants(order);
    }
    order.held.clear();
    for (std::size_t i : plan.send_order) order.held.push_back(std::move(built[i]));
  }
  const std::size_t k = order.next_step++;
  emit(order, order.held[k], plan.steps[plan.send_order[k]].skip_seq_after, out);
  if (order.next_step == order.held.size()) order.held.clear();
  schedule_next(index);
}

ExecReportOut Engine::apply_step(Order& order, const Step& step) {
  switch (step.kind) {
    case StepKind::kAck:
      order.ord_status = fix44::kStatusNew;
      ++counters_.acks;
      return report(order, fix44::kExecNew);
    case StepKind::kFill: {
      const auto cum = checked_add(order.cum_qty, step.last_qty);
      if (!cum || *cum > order.qty) invariant_failed("fill exceeds order quantity", order.order_id);
      order.cum_qty = *cum;
      order.notional += notional_of(step.last_qty, step.last_px);
      const bool done = order.cum_qty == order.qty;
      order.ord_status = done ? fix44::kStatusFilled : fix44::kStatusPartiallyFilled;
      order.closed = done;
      ++counters_.fills;
      ExecReportOut fill = report(order, fix44::kExecTrade);
      fill.last_qty = step.last_qty;
      fill.last_px = step.last_px;
      order.fills.push_back(FillRecord{fill.exec_id, step.last_qty, step.last_px, false});
      return fill;
    }
    case StepKind::kReject: {
      order.ord_status = fix44::kStatusRejected;
      order.closed = true;
      ++counters_.rejects;
      ExecReportOut rejected = report(order, fix44::kExecRejected);
      rejected.ord_rej_reason = step.ord_rej_reason;
      rejected.text = step.text;
      return rejected;
    }
  }
  invariant_failed("unknown step kind", order.order_id);
}

void Engine::emit(const Order& order, ExecReportOut report, bool skip_seq_after,
                  std::vector<Outgoing>& out) {
  const DuplicateReports d = order.duplicates;
  const bool plain = d == DuplicateReports::kPlain || d == DuplicateReports::kBoth;
  const bool poss_dup = d == DuplicateReports::kPossDup || d == DuplicateReports::kBoth;
  if (plain || poss_dup) {
    out.emplace_back(report);
    if (plain) {
      ExecReportOut copy = report;
      copy.copy = ReportCopy::kPlainCopy;
      out.emplace_back(std::move(copy));
      ++counters_.report_copies;
    }
    if (poss_dup) {
      report.copy = ReportCopy::kPossDupCopy;
      out.emplace_back(std::move(report));
      ++counters_.report_copies;
    }
  } else {
    out.emplace_back(std::move(report));
  }
  if (skip_seq_after) {
    ++counters_.seq_skips;
    out.emplace_back(SkipSeqNumsOut{options_.skip_seq_nums});
  }
}

ExecReportOut Engine::report(const Order& order, char exec_type) {
  ExecReportOut r;
  r.order_id = order.order_id;
  r.cl_ord_id = order.cl_ord_id;
  r.exec_id = exec_id_for(exec_type);
  r.exec_type = exec_type;
  r.ord_status = order.ord_status;
  r.account = order.account;
  r.symbol = order.symbol;
  r.side = order.side;
  r.ord_type = order.ord_type;
  r.order_qty = order.qty;
  r.price = order.price;
  r.cum_qty = order.cum_qty;
  r.leaves_qty = order.closed
                     ? Fixed{}
                     : Fixed::from_mantissa(order.qty.mantissa() - order.cum_qty.mantissa());
  r.avg_px = average_price(order.notional, order.cum_qty);
  r.extra_tags = order.extra_tags;
  r.field_order = order.field_order;
  return r;
}

ExecReportOut Engine::reject_unknown(const NewOrderIn& in, int reason, std::string text) {
  ExecReportOut r;
  r.order_id = "NONE";
  r.cl_ord_id = in.cl_ord_id;
  r.exec_id = next_exec_id();
  r.exec_type = fix44::kExecRejected;
  r.ord_status = fix44::kStatusRejected;
  r.account = in.account;
  r.symbol = in.symbol;
  r.side = in.side;
  r.ord_type = in.ord_type;
  if (in.order_qty) r.order_qty = Fixed::parse(*in.order_qty);
  r.ord_rej_reason = reason;
  r.text = std::move(text);
  return r;
}

std::string Engine::next_exec_id() {
  const std::string number = std::to_string(next_exec_number_++);
  if (options_.exec_ids == ExecIdStyle::kRestart) return number;
  return "SIMX-" + std::to_string(options_.run_number) + "-" + number;
}

std::string Engine::exec_id_for(char exec_type) {
  if (exec_type == fix44::kExecOrderStatus && options_.status_exec_id == StatusExecId::kZero) {
    return "0";
  }
  return next_exec_id();
}

void Engine::check_invariants(const Order& order) const {
  if (order.cum_qty > order.qty) invariant_failed("cum_qty > qty", order.order_id);
  if (order.cum_qty.mantissa() < 0) invariant_failed("cum_qty < 0", order.order_id);
  if (order.ord_status == fix44::kStatusFilled && order.cum_qty != order.qty) {
    invariant_failed("filled but cum_qty != qty", order.order_id);
  }
  if (order.next_step > order.plan.steps.size()) invariant_failed("step overrun", order.order_id);
  std::int64_t booked = 0;
  for (const FillRecord& fill : order.fills) {
    if (!fill.busted) booked += fill.qty.mantissa();
  }
  if (booked != order.cum_qty.mantissa()) {
    invariant_failed("cum_qty is not the sum of the live fills", order.order_id);
  }
}

}  // namespace brokergw::sim
