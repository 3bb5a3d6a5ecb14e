// Mapping between the order core and FIX 4.4 messages. Pure functions over QuickFIX message
// objects: no sessions, no I/O, no clocks except QuickFIX's TransactTime default (now).
// Quantities and prices travel as decimal strings; QuickFIX's double accessors are never used.
//
// Called from the broker's dispatcher thread (building) and QuickFIX's session thread
// (parsing); stateless, so both are safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <quickfix/Message.h>
#include <tl/expected.hpp>

#include "adapters/adapter.h"
#include "gateway/core/order.h"

namespace brokergw::adapters::fix {

FIX::Message build_new_order_single(const core::Order& order, bool poss_resend = false);
FIX::Message build_status_request(const core::Order& order);
FIX::Message build_cancel_request(const core::Order& order, std::string_view cancel_id);

// Result of reading one inbound application message: a report for the core, nothing (an
// informational message such as ExecType=PendingCancel), or an error naming the field.
using ParseResult = tl::expected<std::optional<BrokerReport>, std::string>;

ParseResult parse_execution_report(const FIX::Message& msg, const std::string& broker);
ParseResult parse_cancel_reject(const FIX::Message& msg, const std::string& broker);
// A message the parsers refused (`error` says which field and why), as a report the gateway
// journals raw as an anomaly instead of losing it.
BrokerReport unparseable_report(const FIX::Message& msg, const std::string& broker,
                                const std::string& error);
// What we sent under one MsgSeqNum (the adapter records it in toApp), so that a
// BusinessMessageReject (j) or session Reject (3), which refer to our message by RefSeqNum(45),
// can be tied to an order. All empty when the number is not (or no longer) known.
struct SentRef {
  std::string msg_type;        // MsgType(35) of what we sent
  std::string cl_ord_id;       // its ClOrdID(11): the order's for D and H, the request's for F, G
  std::string orig_cl_ord_id;  // its OrigClOrdID(41) (F, G): the order's ClOrdID
};
SentRef sent_ref_of(const FIX::Message& outbound);

// BusinessMessageReject (j): the referenced message type is RefMsgType(372) (else ref's), the
// referenced id BusinessRejectRefID(379) (else ref's). A reject of our NewOrderSingle rejects
// the order, of a cancel or replace refuses that request, of an OrderStatusRequest (H) says the
// broker cannot be asked (status_unsupported, event EvStatus{} unused). Anything else, or one
// that names no order of ours, is informational.
ParseResult parse_business_reject(const FIX::Message& msg, const std::string& broker,
                                  const SentRef& ref);
// Session Reject (3): the same, with the referenced message and its ids taken from `ref` only
// (a Reject carries no business id, so without the record it names no order).
ParseResult parse_session_reject(const FIX::Message& msg, const std::string& broker,
                                 const SentRef& ref);

// DontKnowTrade (35=Q, DKReason=D no matching order) answering an execution report.
FIX::Message build_dont_know_trade(const FIX::Message& report);

// TestRequest (1) with this TestReqID(112), for the inbound probe (inbound_probe.h).
FIX::Message build_test_request(const std::string& test_req_id);

// Replaces the values of secret tags (554 Password, 925 NewPassword, 96 RawData) with "***"
// and turns SOH into '|', for logs and journals.
std::string mask_secrets(std::string_view raw_fix);

}  // namespace brokergw::adapters::fix
