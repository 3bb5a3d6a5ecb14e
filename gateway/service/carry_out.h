// The one step every decision goes through: "apply -> compare-and-set -> schedule -> journal".
// A core decision (core/resolution.h) says what changes; carry_out() writes exactly that inside
// the caller's store transaction, and after_commit() does the bookkeeping once it is durable.
//
// Threads: carry_out() runs inside a store write function (the store's committer thread);
// after_commit() on the thread that waited for the commit. Neither sends anything: sending
// is the broker lane's alone.
//
// Invariant: the order, its schedule entry and its event are written in one transaction, so
// a crash leaves all three or none; the order is written only if its version is unchanged.
#pragma once

#include <cstdint>
#include <optional>

#include "adapters/adapter.h"
#include "gateway/core/resolution.h"
#include "gateway/service/context.h"
#include "store/store.h"

namespace brokergw::service {

struct Carried {
  core::Decision decision;
  core::Order order;          // the order after the decision
  std::uint64_t version = 0;  // its stored version after the decision
  std::uint64_t event_seq = 0;
  bool attention = false;  // its schedule entry is Step::kAttention
};

// Writes `d` for `current` (whose schedule entry is `wait`). `report` is the broker report
// that led to the decision, if any.
store::Status carry_out(store::WriteTxn& txn, const store::VersionedOrder& current,
                        const std::optional<core::Wait>& wait, core::Decision d,
                        const adapters::BrokerReport* report, core::TimestampUs now, Carried& out);

// The order's schedule entry as a core::Wait (nullopt when it has none).
store::Result<std::optional<core::Wait>> read_wait(store::ReadTxn& txn,
                                                   std::string_view client_order_id);

// After the commit: wakes event readers, counts, updates the tracker, logs (alerts at error).
void after_commit(Shared& shared, const Carried& c, core::TimestampUs now);

}  // namespace brokergw::service
