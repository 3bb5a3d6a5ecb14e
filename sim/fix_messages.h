// Turns the engine's answers (sim/engine.h) into QuickFIX messages: ExecutionReport (8),
// OrderCancelReject (9) and BusinessMessageReject (j), body only (QuickFIX fills in the header
// when the message is sent). Owns the order of an ExecutionReport's body fields on the wire
// (the rule's field_order): QuickFIX keeps a message's fields sorted by its message_order, by
// tag unless the message is built with an order of its own, which is what kReversed and
// kExtraFirst do.
//
// Thread: any; no session, no I/O. Called by FixSender on the engine thread.
//
// Invariants: every field of an ExecReportOut that is set appears exactly once; body_order()
// returns a permutation of the tags it is given.
#pragma once

#include <vector>

#include <quickfix/Message.h>

#include "sim/engine.h"

namespace brokergw::sim {

FIX::Message build_message(const ExecReportOut& report);
FIX::Message build_message(const CancelRejectOut& reject);
FIX::Message build_message(const BusinessRejectOut& reject);

// The body tags of a report in wire order: `tags` (distinct, ascending) rearranged for `order`;
// `extra` are the report's extra tags (all among `tags`), in their configured order.
std::vector<int> body_order(FieldOrder order, const std::vector<int>& tags,
                            const std::vector<ExtraTag>& extra);

}  // namespace brokergw::sim
