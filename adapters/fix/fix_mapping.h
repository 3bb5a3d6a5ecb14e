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
// BusinessMessageReject (j) and session Reject (3) refer to our message by sequence number;
// `ref_cl_ord_id` and `ref_msg_type` are what we sent under that number (empty if unknown).
ParseResult parse_business_reject(const FIX::Message& msg, const std::string& broker,
                                  const std::string& ref_cl_ord_id,
                                  const std::string& ref_msg_type);
ParseResult parse_session_reject(const FIX::Message& msg, const std::string& broker,
                                 const std::string& ref_cl_ord_id, const std::string& ref_msg_type);

// Replaces the values of secret tags (554 Password, 925 NewPassword, 96 RawData) with "***"
// and turns SOH into '|', for logs and journals.
std::string mask_secrets(std::string_view raw_fix);

}  // namespace brokergw::adapters::fix
