#include "gateway/service/carry_out.h"

#include <spdlog/spdlog.h>

#include "gateway/events/event_render.h"

namespace brokergw::service {

store::Result<std::optional<core::Wait>> read_wait(store::ReadTxn& txn,
                                                   std::string_view client_order_id) {
  auto entry = txn.get_retry(client_order_id);
  if (!entry) return tl::unexpected(entry.error());
  if (!*entry) return std::optional<core::Wait>();
  return std::optional<core::Wait>((*entry)->wait());
}

store::Status carry_out(store::WriteTxn& txn, const store::VersionedOrder& current,
                        const std::optional<core::Wait>& wait, core::Decision d,
                        const adapters::BrokerReport* report, core::TimestampUs now, Carried& out) {
  out.order = current.order;
  out.version = current.version;
  if (d.order) {
    core::check_invariants(*d.order);
    auto version = txn.update_order(*d.order, current.version);
    if (!version) return tl::unexpected(version.error());
    out.order = *d.order;
    out.version = *version;
    const std::string& boid = d.order->broker_order_id;
    if (!boid.empty() && boid != current.order.broker_order_id) {
      if (auto s = txn.put_broker_order_id(d.order->request.broker, boid,
                                           d.order->request.client_order_id);
          !s) {
        return s;
      }
    }
  }
  const std::string& id = current.order.request.client_order_id;
  out.attention = wait && wait->step == core::Step::kAttention;
  switch (d.schedule) {
    case core::ScheduleOp::kKeep:
      break;
    case core::ScheduleOp::kClear:
      if (wait) {
        if (auto s = txn.cancel_retry(id); !s) return s;
      }
      out.attention = false;
      break;
    case core::ScheduleOp::kSet:
      if (!wait || !(*wait == d.wait)) {
        if (auto s = txn.schedule_retry(store::RetryEntry::of(id, d.wait)); !s) return s;
      }
      out.attention = d.wait.step == core::Step::kAttention;
      break;
  }
  if (d.event != core::EventType::kNone) {
    events::EventInput in{d.event, &out.order, report, d.reason, d.anomaly, d.detail};
    auto seq = txn.append_event(events::render_event(in, now));
    if (!seq) return tl::unexpected(seq.error());
    out.event_seq = *seq;
  }
  if (d.also != core::EventType::kNone) {
    events::EventInput in{
        d.also,       &out.order, report, core::Reason::kFillsMissing, core::AnomalyReason::kNone,
        d.also_detail};
    auto seq = txn.append_event(events::render_event(in, now));
    if (!seq) return tl::unexpected(seq.error());
    out.event_seq = *seq;
  }
  out.decision = std::move(d);
  return {};
}

void after_commit(Shared& shared, const Carried& c, core::TimestampUs now) {
  const core::Decision& d = c.decision;
  const std::string& id = c.order.request.client_order_id;
  if (c.event_seq) {
    shared.metrics.events_appended +=
        (d.event != core::EventType::kNone) + (d.also != core::EventType::kNone);
    shared.notifier.advance(c.event_seq);
  }
  if (shared.tracker.update(c.order, c.version, c.attention, now)) {
    shared.metrics.unknown_resolved++;
  }
  switch (d.event) {
    case core::EventType::kUnknown:
      if (d.reason == core::Reason::kSilence) shared.metrics.timeouts++;
      spdlog::warn("order {}: unknown_at_broker at {} ({}: {})", id, c.order.request.broker,
                   core::to_string(d.reason), d.detail);
      break;
    case core::EventType::kAnomaly:
      shared.metrics.broker_anomalies++;
      spdlog::error("order {}: broker anomaly {} ({}), order unchanged in {}", id,
                    core::to_string(d.anomaly), d.detail, core::to_string(c.order.state));
      break;
    case core::EventType::kReportIgnored:
      shared.metrics.reports_ignored++;
      spdlog::info("order {}: report ignored in {} ({}: {})", id, core::to_string(c.order.state),
                   core::to_string(d.reason), d.detail);
      break;
    default:
      if (d.anomaly != core::AnomalyReason::kNone) {
        shared.metrics.broker_anomalies++;
        spdlog::error("order {}: broker anomaly {} ({})", id, core::to_string(d.anomaly), d.detail);
      }
      break;
  }
  if (d.also == core::EventType::kFillsMissing) {
    shared.metrics.fills_missing++;
    spdlog::error("order {}: fills missing at broker {}: {}", id, c.order.request.broker,
                  d.also_detail);
  }
  if (d.event == core::EventType::kUnverified) {
    spdlog::warn(
        "order {}: broker {} would not confirm the order's state ({}): listed for "
        "reconciliation",
        id, c.order.request.broker, core::to_string(c.order.state));
  }
  if (d.alert) {
    shared.metrics.operator_alerts++;
    spdlog::error("order {}: operator attention required at broker {}: {}", id,
                  c.order.request.broker,
                  d.also == core::EventType::kFillsMissing && d.event != core::EventType::kAnomaly
                      ? d.also_detail
                      : d.detail);
  }
}

}  // namespace brokergw::service
