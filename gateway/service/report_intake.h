// Report intake: every broker report, from the adapter's thread, becomes at most one
// journaled event and the order change core::triage_report decided, in one synced commit.
//
// Threads: on_report() runs on the adapter's I/O thread and returns only once the report is
// durable (the transport may advance its sequence number when it returns). A store failure
// stops the process instead (the broker resends the report after restart: nothing lost).
//
// Invariants: a report is de-duplicated in the same transaction that applies it, under
// (broker, the order's ClOrdID, ExecID) and only when its content (core::ExecContent) is the
// stored one's: the same ExecID with other content is an anomaly showing both. Status answers
// (ExecType I and the status kinds) are never de-duplicated (brokers send ExecID 0 on them).
// Every report that is not a duplicate is journaled, applied or not (anomaly, ignored, unknown
// order), so no report is dropped silently. A bust or correction changes exactly the fill its
// ExecRefID names, as booked in the stored report of that fill (ExecRecord).
#pragma once

#include "adapters/adapter.h"
#include "gateway/service/context.h"

namespace brokergw::service {

class ReportIntake {
 public:
  explicit ReportIntake(Shared& shared) : shared_(shared) {}
  adapters::ReportOutcome on_report(adapters::BrokerReport report);

 private:
  Shared& shared_;
};

}  // namespace brokergw::service
