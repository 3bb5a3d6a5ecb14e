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

bool is_status_kind(core::ReportKind k) {
  return k == core::ReportKind::kStatus || k == core::ReportKind::kStatusUnknown ||
         k == core::ReportKind::kStatusUnsupported;
}

// Answers that end an outstanding status query or resend (the budget's in-flight count).
bool answers_resolution(core::ReportKind k) {
  return is_status_kind(k) || k == core::ReportKind::kDuplicateClOrdId;
}

}  // namespace

void ReportIntake::on_report(adapters::BrokerReport report) {
  const core::TimestampUs now = shared_.clock();
  const core::ReportKind kind = adapters::report_kind(report);
  Lane* lane = shared_.lane_for(report.broker);
  const core::BrokerRules rules = lane ? lane->rules() : core::BrokerRules{};
  auto result = shared_.store.write_and_wait<Outcome>(
      [&](store::WriteTxn& txn, std::optional<Outcome>& res) -> store::Status {
        Outcome o;
        if (!report.exec_id.empty() && !is_status_kind(kind)) {
          auto seen = txn.exec_seen(report.broker, report.exec_id);
          if (!seen) return tl::unexpected(seen.error());
          if (*seen) {
            o.fate = Fate::kDuplicate;
            res = std::move(o);
            return {};
          }
          if (auto s = txn.mark_exec_seen(report.broker, report.exec_id, now); !s) return s;
        }
        // Find the order: by our ClOrdID, else through the cancel request id.
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
          o.note = "the order belongs to broker " + current->order.request.broker;
          current = tl::unexpected(store::StoreError{store::StoreErrc::kNotFound, o.note});
        }
        if (!current) {
          if (current.error().code != store::StoreErrc::kNotFound) {
            return tl::unexpected(current.error());
          }
          // A report we cannot place: journaled so a human sees it, never applied.
          o.fate = Fate::kUnknownOrder;
          events::EventInput in{
              core::EventType::kUnknownReport, nullptr, &report, core::Reason::kNone,
              core::AnomalyReason::kNone,      o.note};
          auto seq = txn.append_event(events::render_event(in, now));
          if (!seq) return tl::unexpected(seq.error());
          o.event_seq = *seq;
          res = std::move(o);
          return {};
        }
        auto wait = read_wait(txn, current->order.request.client_order_id);
        if (!wait) return tl::unexpected(wait.error());
        core::Decision d =
            core::triage_report(current->order, kind, report.event, *wait, rules, now);
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
      return;
    case Fate::kUnknownOrder:
      shared_.metrics.reports_unknown_order++;
      shared_.metrics.events_appended++;
      shared_.notifier.advance(result->event_seq);
      spdlog::error("broker {}: report for unknown order {} ({}) {}", report.broker,
                    report.client_order_id, report.summary, result->note);
      return;
    case Fate::kTriaged:
      break;
  }
  const Carried& c = *result->carried;
  after_commit(shared_, c, now);
  if (c.decision.event != core::EventType::kReportIgnored &&
      c.decision.event != core::EventType::kAnomaly) {
    shared_.metrics.reports_applied++;
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
}

}  // namespace brokergw::service
