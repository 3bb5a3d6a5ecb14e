#include "gateway/service/report_intake.h"

#include <cstdlib>

#include <spdlog/spdlog.h>

#include "gateway/events/event_render.h"
#include "gateway/service/carry_out.h"
#include "gateway/service/lane.h"

namespace brokergw::service {
namespace {

enum class Fate { kTriaged, kDuplicate, kUnknownOrder };

struct Outcome {
  Fate fate = Fate::kTriaged;
  std::optional<Carried> carried;
  std::uint64_t event_seq = 0;  // kUnknownOrder's event
  std::string note;
};

// Answers that end an outstanding status query or resend (the budget's in-flight count).
bool answers_resolution(core::ReportKind k) {
  return core::is_status_answer(k) || k == core::ReportKind::kDuplicateClOrdId;
}

// Reports that carry an ExecID worth remembering: executions and order events, not status
// answers (ExecID 0 on every one of them is allowed) and not what could not be read.
bool deduplicated(const adapters::BrokerReport& r, core::ReportKind k) {
  return !r.exec_id.empty() && !core::is_status_answer(k) && k != core::ReportKind::kUnparseable;
}

// The order the report is about: by our ClOrdID, else through the cancel request id. kNotFound
// (with `note` saying why) when this broker has no such order.
store::Result<store::VersionedOrder> find_order(store::WriteTxn& txn,
                                                const adapters::BrokerReport& report,
                                                std::string& note) {
  auto current = txn.get_order(report.client_order_id);
  if (!current && current.error().code == store::StoreErrc::kNotFound) {
    for (const std::string& maybe_cancel : {report.cancel_id, report.client_order_id}) {
      if (maybe_cancel.empty()) continue;
      if (auto c = txn.get_cancel(maybe_cancel); c) {
        current = txn.get_order(c->client_order_id);
        break;
      }
    }
  }
  if (current && current->order.request.broker != report.broker) {
    note = "the order belongs to broker " + current->order.request.broker;
    return store::store_error(store::StoreErrc::kNotFound, note);
  }
  return current;
}

// The ExecRefID of a bust or correction ("" for any other event).
std::string exec_ref_of(const core::OrderEvent& ev) {
  if (const auto* b = std::get_if<core::EvBust>(&ev)) return b->exec_ref_id;
  if (const auto* c = std::get_if<core::EvCorrect>(&ev)) return c->exec_ref_id;
  return {};
}

// For a bust or correction: the booked fill its ExecRefID names, made into the core event.
store::Result<core::ExecRef> resolve_exec_ref(store::WriteTxn& txn, adapters::BrokerReport& report,
                                              const std::string& order_id,
                                              std::optional<store::ExecRecord>& ref) {
  auto found = txn.find_exec(report.broker, order_id, exec_ref_of(report.event));
  if (!found) return tl::unexpected(found.error());
  ref = std::move(*found);
  if (!ref || ref->legacy || !ref->booked_qty.value.is_positive()) return core::ExecRef::kUnknown;
  if (ref->busted) return core::ExecRef::kAlreadyBusted;
  if (auto* bust = std::get_if<core::EvBust>(&report.event)) {
    bust->last_qty = ref->booked_qty;
    bust->last_px = ref->booked_px;
  } else if (auto* corr = std::get_if<core::EvCorrect>(&report.event)) {
    corr->old_qty = ref->booked_qty;
    corr->old_px = ref->booked_px;
  }
  return core::ExecRef::kKnown;
}

// What the stored record of this report books: the fill an applied order.fill added.
store::ExecRecord record_of(const adapters::BrokerReport& report, const core::Decision& d,
                            core::TimestampUs now) {
  store::ExecRecord rec;
  rec.seen_us = now;
  rec.content = report.content;
  if (d.event == core::EventType::kFill) {
    if (const auto* fill = std::get_if<core::EvFill>(&report.event)) {
      rec.booked_qty = fill->last_qty;
      rec.booked_px = fill->last_px;
    }
  }
  return rec;
}

}  // namespace

adapters::ReportOutcome ReportIntake::on_report(adapters::BrokerReport report) {
  const core::TimestampUs now = shared_.clock();
  core::ReportKind kind = adapters::report_kind(report);
  Lane* lane = shared_.lane_for(report.broker);
  const core::BrokerRules rules = lane ? lane->rules() : core::BrokerRules{};
  auto result = shared_.store.write_and_wait<Outcome>(
      [&](store::WriteTxn& txn, std::optional<Outcome>& res) -> store::Status {
        Outcome o;
        auto current = find_order(txn, report, o.note);
        if (!current && current.error().code != store::StoreErrc::kNotFound) {
          return tl::unexpected(current.error());
        }
        const std::string order_id =
            current ? current->order.request.client_order_id : report.client_order_id;
        std::optional<store::ExecRecord> first;
        if (deduplicated(report, kind)) {
          auto seen = txn.find_exec(report.broker, order_id, report.exec_id);
          if (!seen) return tl::unexpected(seen.error());
          first = std::move(*seen);
          if (first && (first->legacy || first->content == report.content)) {
            o.fate = Fate::kDuplicate;
            res = std::move(o);
            return {};
          }
        }
        if (!current) {
          // A report we cannot place: journaled so a human sees it, never applied.
          if (deduplicated(report, kind) && !first) {
            if (auto s = txn.put_exec(report.broker, order_id, report.exec_id,
                                      record_of(report, {}, now));
                !s) {
              return s;
            }
          }
          o.fate = Fate::kUnknownOrder;
          events::EventInput in{
              core::EventType::kUnknownReport,    nullptr, &report, core::Reason::kNone,
              core::AnomalyReason::kUnknownOrder, o.note};
          auto seq = txn.append_event(events::render_event(in, now));
          if (!seq) return tl::unexpected(seq.error());
          o.event_seq = *seq;
          res = std::move(o);
          return {};
        }
        core::ReportFacts facts;
        facts.cum_qty = report.content.cum_qty
                            ? std::optional<core::Qty>(core::Qty{*report.content.cum_qty})
                            : std::nullopt;
        std::optional<store::ExecRecord> ref;
        if (first) {
          // The same ExecID with other content: both versions go in the anomaly event.
          kind = core::ReportKind::kConflictingDuplicate;
          report.first_seen = first->content.describe();
        } else if (kind == core::ReportKind::kBust || kind == core::ReportKind::kCorrection) {
          auto r = resolve_exec_ref(txn, report, order_id, ref);
          if (!r) return tl::unexpected(r.error());
          facts.exec_ref = *r;
        }
        auto wait = read_wait(txn, order_id);
        if (!wait) return tl::unexpected(wait.error());
        core::Decision d =
            core::triage_report(current->order, kind, report.event, *wait, rules, now, facts);
        if (deduplicated(report, kind) && !first) {
          if (auto s =
                  txn.put_exec(report.broker, order_id, report.exec_id, record_of(report, d, now));
              !s) {
            return s;
          }
        }
        if (ref && (d.event == core::EventType::kFillBusted ||
                    d.event == core::EventType::kFillCorrected)) {
          // The booked fill changes with the order: a bust takes it back once, a correction
          // replaces its amounts (a later bust of it takes back the corrected ones).
          if (d.event == core::EventType::kFillBusted) {
            ref->busted = true;
          } else if (const auto* corr = std::get_if<core::EvCorrect>(&report.event)) {
            ref->booked_qty = corr->new_qty;
            ref->booked_px = corr->new_px;
          }
          if (auto s = txn.put_exec(report.broker, order_id, exec_ref_of(report.event), *ref); !s) {
            return s;
          }
        }
        Carried c;
        if (auto s = carry_out(txn, *current, *wait, std::move(d), &report, now, c); !s) {
          return s;
        }
        o.carried = std::move(c);
        res = std::move(o);
        return {};
      });
  if (!result) {
    // The transport advances its sequence number when we return; stopping here instead
    // makes the broker resend the report after restart, so nothing is lost.
    spdlog::critical(
        "broker {}: cannot store report for {} ({}): {} {}; stopping so the broker resends it "
        "after restart",
        report.broker, report.client_order_id, report.summary,
        store::to_string(result.error().code), result.error().detail);
    std::abort();
  }
  if (lane && answers_resolution(kind)) lane->budget_answered();
  if (lane && kind == core::ReportKind::kStatusUnsupported) lane->status_refused();
  switch (result->fate) {
    case Fate::kDuplicate:
      shared_.metrics.reports_duplicate++;
      spdlog::info("broker {}: duplicate report {} for {} (already journaled)", report.broker,
                   report.exec_id, report.client_order_id);
      return adapters::ReportOutcome::kDuplicate;
    case Fate::kUnknownOrder:
      shared_.metrics.reports_unknown_order++;
      shared_.metrics.broker_anomalies++;
      shared_.metrics.events_appended++;
      shared_.notifier.advance(result->event_seq);
      spdlog::error("broker {}: report for unknown order {} ({}) {}", report.broker,
                    report.client_order_id, report.summary, result->note);
      return adapters::ReportOutcome::kUnknownOrder;
    case Fate::kTriaged:
      break;
  }
  const Carried& c = *result->carried;
  after_commit(shared_, c, now);
  switch (c.decision.event) {
    case core::EventType::kReportIgnored:
    case core::EventType::kAnomaly:
      if (kind == core::ReportKind::kConflictingDuplicate) shared_.metrics.exec_id_conflicts++;
      break;
    case core::EventType::kFillBusted:
    case core::EventType::kFillCorrected:
      shared_.metrics.fill_adjustments++;
      shared_.metrics.reports_applied++;
      break;
    case core::EventType::kUnverified:
      shared_.metrics.orders_unverified++;
      break;
    default:
      shared_.metrics.reports_applied++;
      break;
  }
  spdlog::info("order {}: {} -> {} ({})", c.order.request.client_order_id, report.summary,
               core::to_string(c.order.state), core::to_string(c.decision.reason));
  if (c.decision.send != core::Send::kNothing && lane) {
    lane->try_push({c.decision.send, c.order.request.client_order_id});
  }
  if (c.decision.schedule == core::ScheduleOp::kSet && c.decision.wait.due_us <= now &&
      shared_.wake_scheduler) {
    shared_.wake_scheduler();
  }
  return adapters::ReportOutcome::kJournaled;
}

}  // namespace brokergw::service
