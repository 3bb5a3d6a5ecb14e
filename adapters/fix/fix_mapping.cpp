#include "adapters/fix/fix_mapping.h"

#include <tuple>

#include <quickfix/FieldNumbers.h>
#include <quickfix/FieldTypes.h>
#include <quickfix/Fields.h>
#include <quickfix/Values.h>

namespace brokergw::adapters::fix {
namespace {

using core::Decimal;

char side_code(core::Side s) {
  switch (s) {
    case core::Side::kBuy:
      return FIX::Side_BUY;
    case core::Side::kSell:
      return FIX::Side_SELL;
    case core::Side::kSellShort:
      return FIX::Side_SELL_SHORT;
  }
  return FIX::Side_BUY;
}

char ord_type_code(core::OrderType t) {
  return t == core::OrderType::kLimit ? FIX::OrdType_LIMIT : FIX::OrdType_MARKET;
}

char tif_code(core::TimeInForce t) {
  switch (t) {
    case core::TimeInForce::kDay:
      return FIX::TimeInForce_DAY;
    case core::TimeInForce::kGtc:
      return FIX::TimeInForce_GOOD_TILL_CANCEL;
    case core::TimeInForce::kIoc:
      return FIX::TimeInForce_IMMEDIATE_OR_CANCEL;
    case core::TimeInForce::kFok:
      return FIX::TimeInForce_FILL_OR_KILL;
  }
  return FIX::TimeInForce_DAY;
}

void set_common_header(FIX::Message& m, const char* msg_type) {
  m.getHeader().setField(FIX::MsgType(msg_type));
}

// Field accessors that never throw and never go through double.
std::optional<std::string> field(const FIX::FieldMap& m, int tag) {
  if (!m.isSetField(tag)) return std::nullopt;
  return m.getField(tag);
}

bool field_is(const FIX::FieldMap& m, int tag, int value) {
  auto v = field(m, tag);
  return v && *v == std::to_string(value);
}

tl::expected<std::string, std::string> required(const FIX::FieldMap& m, int tag,
                                                std::string_view name) {
  auto v = field(m, tag);
  if (!v || v->empty()) {
    return tl::unexpected(std::string(name) + "(" + std::to_string(tag) + ") missing");
  }
  return *v;
}

tl::expected<Decimal, std::string> required_decimal(const FIX::FieldMap& m, int tag,
                                                    std::string_view name) {
  auto v = required(m, tag, name);
  if (!v) return tl::unexpected(v.error());
  auto d = Decimal::parse(*v);
  if (!d) {
    return tl::unexpected(std::string(name) + "(" + std::to_string(tag) + ") is not a decimal: '" +
                          *v + "'");
  }
  return *d;
}

std::optional<core::OrderState> state_from_ord_status(char s) {
  switch (s) {
    case FIX::OrdStatus_NEW:
      return core::OrderState::kNew;
    case FIX::OrdStatus_PARTIALLY_FILLED:
      return core::OrderState::kPartiallyFilled;
    case FIX::OrdStatus_FILLED:
      return core::OrderState::kFilled;
    case FIX::OrdStatus_CANCELED:
      return core::OrderState::kCanceled;
    case FIX::OrdStatus_PENDING_CANCEL:
      return core::OrderState::kPendingCancel;
    case FIX::OrdStatus_REJECTED:
      return core::OrderState::kRejected;
    case FIX::OrdStatus_EXPIRED:
      return core::OrderState::kExpired;
    case FIX::OrdStatus_PENDING_NEW:
      return core::OrderState::kPendingNew;
    case FIX::OrdStatus_REPLACED:
      return core::OrderState::kReplaced;
    case FIX::OrdStatus_PENDING_REPLACE:
      return core::OrderState::kPendingReplace;
    default:
      return std::nullopt;
  }
}

std::string reason_text(const FIX::FieldMap& m, int code_tag, std::string_view code_name) {
  std::string out;
  if (auto code = field(m, code_tag)) out = std::string(code_name) + "=" + *code;
  if (auto text = field(m, FIX::FIELD::Text)) {
    if (!out.empty()) out += ": ";
    out += *text;
  }
  return out.empty() ? std::string("no reason given") : out;
}

bool flag_set(const FIX::FieldMap& m, int tag) {
  auto v = field(m, tag);
  return v && *v == "Y";
}

BrokerReport base_report(const FIX::Message& msg, const std::string& broker) {
  BrokerReport r;
  r.broker = broker;
  r.raw = mask_secrets(msg.toString());
  r.possible_duplicate = flag_set(msg.getHeader(), FIX::FIELD::PossDupFlag) ||
                         flag_set(msg.getHeader(), FIX::FIELD::PossResend);
  return r;
}

}  // namespace

FIX::Message build_new_order_single(const core::Order& order, bool poss_resend) {
  const auto& req = order.request;
  FIX::Message m;
  set_common_header(m, FIX::MsgType_NewOrderSingle);
  if (poss_resend) m.getHeader().setField(FIX::PossResend(true));
  m.setField(FIX::ClOrdID(req.client_order_id));
  m.setField(FIX::Account(req.account));
  m.setField(
      FIX::HandlInst(FIX::HandlInst_AUTOMATED_EXECUTION_ORDER_PRIVATE_NO_BROKER_INTERVENTION));
  m.setField(FIX::Symbol(req.symbol));
  m.setField(FIX::Side(side_code(req.side)));
  m.setField(FIX::TransactTime(FIX::UtcTimeStamp(), 3));
  // Decimal strings go in as-is: QuickFIX's QtyField(double) would round.
  m.setField(FIX::FIELD::OrderQty, req.quantity.value.to_string());
  m.setField(FIX::OrdType(ord_type_code(req.order_type)));
  if (req.limit_price) m.setField(FIX::FIELD::Price, req.limit_price->value.to_string());
  m.setField(FIX::TimeInForce(tif_code(req.time_in_force)));
  return m;
}

FIX::Message build_status_request(const core::Order& order) {
  const auto& req = order.request;
  FIX::Message m;
  set_common_header(m, FIX::MsgType_OrderStatusRequest);
  m.setField(FIX::ClOrdID(req.client_order_id));
  if (!order.broker_order_id.empty()) m.setField(FIX::OrderID(order.broker_order_id));
  m.setField(FIX::Symbol(req.symbol));
  m.setField(FIX::Side(side_code(req.side)));
  return m;
}

FIX::Message build_cancel_request(const core::Order& order, std::string_view cancel_id) {
  const auto& req = order.request;
  FIX::Message m;
  set_common_header(m, FIX::MsgType_OrderCancelRequest);
  m.setField(FIX::OrigClOrdID(req.client_order_id));
  m.setField(FIX::ClOrdID(std::string(cancel_id)));
  if (!order.broker_order_id.empty()) m.setField(FIX::OrderID(order.broker_order_id));
  m.setField(FIX::Account(req.account));
  m.setField(FIX::Symbol(req.symbol));
  m.setField(FIX::Side(side_code(req.side)));
  m.setField(FIX::TransactTime(FIX::UtcTimeStamp(), 3));
  m.setField(FIX::FIELD::OrderQty, req.quantity.value.to_string());
  return m;
}

ParseResult parse_execution_report(const FIX::Message& msg, const std::string& broker) {
  auto exec_type = required(msg, FIX::FIELD::ExecType, "ExecType");
  if (!exec_type) return tl::unexpected(exec_type.error());
  auto cl_ord_id = required(msg, FIX::FIELD::ClOrdID, "ClOrdID");
  if (!cl_ord_id) return tl::unexpected(cl_ord_id.error());
  auto order_id = required(msg, FIX::FIELD::OrderID, "OrderID");
  if (!order_id) return tl::unexpected(order_id.error());
  auto exec_id = required(msg, FIX::FIELD::ExecID, "ExecID");
  if (!exec_id) return tl::unexpected(exec_id.error());

  BrokerReport r = base_report(msg, broker);
  r.exec_id = *exec_id;
  // A report about a cancel or replace carries the request's id in 11 and ours in 41.
  if (auto orig = field(msg, FIX::FIELD::OrigClOrdID); orig && !orig->empty()) {
    r.client_order_id = *orig;
    r.cancel_id = *cl_ord_id;
  } else {
    r.client_order_id = *cl_ord_id;
  }

  if (exec_type->size() != 1) return tl::unexpected("ExecType(150) invalid: '" + *exec_type + "'");
  char et = (*exec_type)[0];
  // FIX 4.2 says what an execution report does to earlier ones in ExecTransType(20): 0 New,
  // 1 Cancel (a bust of ExecRefID), 2 Correct (of ExecRefID), 3 Status. FIX 4.4 dropped the
  // field and says the same with ExecType H, G and I; a 4.2 report is read as its 4.4 twin.
  std::optional<std::string> trans_type = field(msg, FIX::FIELD::ExecTransType);
  if (trans_type && *trans_type != "0") {
    if (*trans_type == "1") {
      et = FIX::ExecType_TRADE_CANCEL;
    } else if (*trans_type == "2") {
      et = FIX::ExecType_TRADE_CORRECT;
    } else if (*trans_type == "3") {
      et = FIX::ExecType_ORDER_STATUS;
    } else {
      return tl::unexpected("ExecTransType(20) unsupported: '" + *trans_type + "'");
    }
  }
  r.content.exec_type = *exec_type + (trans_type ? "/" + *trans_type : std::string());
  for (auto [tag, name, slot] : {std::tuple{FIX::FIELD::LastQty, "LastQty", &r.content.last_qty},
                                 std::tuple{FIX::FIELD::LastPx, "LastPx", &r.content.last_px},
                                 std::tuple{FIX::FIELD::CumQty, "CumQty", &r.content.cum_qty}}) {
    if (!msg.isSetField(tag)) continue;
    auto value = required_decimal(msg, tag, name);
    if (!value) return tl::unexpected(value.error());
    *slot = *value;
  }
  switch (et) {
    case FIX::ExecType_NEW:
      r.event = core::EvAck{*order_id};
      r.summary = "ack " + *order_id;
      break;
    case FIX::ExecType_TRADE:
    case FIX::ExecType_PARTIAL_FILL:  // FIX 4.2 spellings of a trade
    case FIX::ExecType_FILL: {
      auto last_qty = required_decimal(msg, FIX::FIELD::LastQty, "LastQty");
      if (!last_qty) return tl::unexpected(last_qty.error());
      auto last_px = required_decimal(msg, FIX::FIELD::LastPx, "LastPx");
      if (!last_px) return tl::unexpected(last_px.error());
      r.event = core::EvFill{*exec_id, *order_id, core::Qty{*last_qty}, core::Price{*last_px}};
      r.summary = "fill " + last_qty->to_string() + "@" + last_px->to_string();
      break;
    }
    case FIX::ExecType_CANCELED:
      // A requested cancel needs no reason; an unsolicited one (e.g. by the exchange) has one.
      r.event = core::EvCanceled{field(msg, FIX::FIELD::Text).value_or("")};
      r.summary = "canceled";
      break;
    case FIX::ExecType_REJECTED:
      r.event = core::EvReject{reason_text(msg, FIX::FIELD::OrdRejReason, "OrdRejReason")};
      r.duplicate_order =
          field_is(msg, FIX::FIELD::OrdRejReason, FIX::OrdRejReason_DUPLICATE_ORDER);
      r.summary = r.duplicate_order ? "rejected as a duplicate ClOrdID" : "rejected";
      break;
    case FIX::ExecType_EXPIRED:
      r.event = core::EvExpired{};
      r.summary = "expired";
      break;
    case FIX::ExecType_REPLACED:
      r.event = core::EvReplaced{};
      r.summary = "replaced";
      break;
    case FIX::ExecType_ORDER_STATUS: {
      auto ord_status = required(msg, FIX::FIELD::OrdStatus, "OrdStatus");
      if (!ord_status) return tl::unexpected(ord_status.error());
      auto state = ord_status->size() == 1 ? state_from_ord_status((*ord_status)[0]) : std::nullopt;
      if (!state) return tl::unexpected("OrdStatus(39) unsupported: '" + *ord_status + "'");
      // FIX 4.4: a status query for an order the broker does not know is answered with
      // OrdStatus=Rejected and OrdRejReason=Unknown order.
      if (*state == core::OrderState::kRejected &&
          field_is(msg, FIX::FIELD::OrdRejReason, FIX::OrdRejReason_UNKNOWN_ORDER)) {
        r.not_at_broker = true;
        r.event = core::EvStatus{*state, *order_id, core::Qty{}, core::Price{}};
        r.summary = "status: unknown order at broker";
        break;
      }
      auto cum = required_decimal(msg, FIX::FIELD::CumQty, "CumQty");
      if (!cum) return tl::unexpected(cum.error());
      auto avg = required_decimal(msg, FIX::FIELD::AvgPx, "AvgPx");
      if (!avg) return tl::unexpected(avg.error());
      r.event = core::EvStatus{*state, *order_id, core::Qty{*cum}, core::Price{*avg}};
      r.summary = "status " + *ord_status;
      break;
    }
    case FIX::ExecType_TRADE_CANCEL:     // H: a trade bust; ExecRefID names the fill
    case FIX::ExecType_TRADE_CORRECT: {  // G: a trade correction; LastQty/LastPx corrected
      auto ref = required(msg, FIX::FIELD::ExecRefID, "ExecRefID");
      if (!ref) return tl::unexpected(ref.error());
      if (et == FIX::ExecType_TRADE_CANCEL) {
        // The amounts taken back are the gateway's own record of that fill (the intake fills
        // them in), whatever LastQty/LastPx the bust repeats.
        r.event = core::EvBust{*ref, core::Qty{}, core::Price{}};
        r.summary = "bust of " + *ref;
        break;
      }
      auto last_qty = required_decimal(msg, FIX::FIELD::LastQty, "LastQty");
      if (!last_qty) return tl::unexpected(last_qty.error());
      auto last_px = required_decimal(msg, FIX::FIELD::LastPx, "LastPx");
      if (!last_px) return tl::unexpected(last_px.error());
      r.event = core::EvCorrect{*ref, core::Qty{}, core::Price{}, core::Qty{*last_qty},
                                core::Price{*last_px}};
      r.summary =
          "correction of " + *ref + " to " + last_qty->to_string() + "@" + last_px->to_string();
      break;
    }
    case FIX::ExecType_RESTATED: {  // D: the broker restated the order
      std::string why =
          reason_text(msg, FIX::FIELD::ExecRestatementReason, "ExecRestatementReason");
      r.event = core::EvRestated{why};
      r.summary = "restated (" + why + ")";
      break;
    }
    default:
      // PendingNew, PendingCancel, PendingReplace, DoneForDay...: informational, journaled.
      r.informational = true;
      r.event = core::EvStatus{};
      r.summary = "ExecType " + *exec_type + " (informational)";
      break;
  }
  return r;
}

BrokerReport unparseable_report(const FIX::Message& msg, const std::string& broker,
                                const std::string& error) {
  BrokerReport r = base_report(msg, broker);
  r.unparseable = true;
  // What it is about, as far as it says: our ClOrdID (OrigClOrdID for a cancel's answer).
  r.client_order_id = field(msg, FIX::FIELD::OrigClOrdID).value_or("");
  if (r.client_order_id.empty()) r.client_order_id = field(msg, FIX::FIELD::ClOrdID).value_or("");
  r.exec_id = field(msg, FIX::FIELD::ExecID).value_or("");
  r.event = core::EvStatus{};
  r.summary = "unreadable message: " + error;
  return r;
}

ParseResult parse_cancel_reject(const FIX::Message& msg, const std::string& broker) {
  auto cl_ord_id = required(msg, FIX::FIELD::ClOrdID, "ClOrdID");
  if (!cl_ord_id) return tl::unexpected(cl_ord_id.error());
  auto orig = required(msg, FIX::FIELD::OrigClOrdID, "OrigClOrdID");
  if (!orig) return tl::unexpected(orig.error());
  BrokerReport r = base_report(msg, broker);
  r.client_order_id = *orig;
  r.cancel_id = *cl_ord_id;
  std::string reason = reason_text(msg, FIX::FIELD::CxlRejReason, "CxlRejReason");
  // CxlRejReason=1 (unknown order): the broker does not know the order we asked to cancel.
  // Whether it never arrived or the broker lost it, the gateway asks instead of guessing.
  r.cancel_unknown_order = field_is(msg, FIX::FIELD::CxlRejReason, FIX::CxlRejReason_UNKNOWN_ORDER);
  // OrdStatus (39) on a cancel reject is the order's status now. "Too late to cancel"
  // because it is already canceled (often the answer to a cancel sent again) says the
  // order is canceled: that is what it reports, not a live order.
  if (field(msg, FIX::FIELD::OrdStatus) == std::string(1, FIX::OrdStatus_CANCELED)) {
    r.event = core::EvCanceled{"canceled (answer to a cancel: " + reason + ")"};
    r.summary = "cancel answered: already canceled (" + reason + ")";
    return r;
  }
  auto response_to = field(msg, FIX::FIELD::CxlRejResponseTo);
  if (response_to && *response_to == "2") {
    r.event = core::EvReplaceRejected{reason};
  } else {
    r.event = core::EvCancelRejected{reason};
  }
  r.summary = "cancel rejected: " + reason;
  return r;
}

namespace {

// FIX 4.4 BusinessRejectReason(380) and SessionRejectReason(373), for summaries and logs.
std::string_view business_reject_reason_name(std::string_view code) {
  if (code == "0") return "other";
  if (code == "1") return "unknown ID";
  if (code == "2") return "unknown security";
  if (code == "3") return "unsupported message type";
  if (code == "4") return "application not available";
  if (code == "5") return "conditionally required field missing";
  if (code == "6") return "not authorized";
  if (code == "7") return "DeliverTo firm not available at this time";
  if (code == "18") return "invalid price increment";
  return "";
}

std::string_view session_reject_reason_name(std::string_view code) {
  if (code == "0") return "invalid tag number";
  if (code == "1") return "required tag missing";
  if (code == "2") return "tag not defined for this message type";
  if (code == "3") return "undefined tag";
  if (code == "4") return "tag specified without a value";
  if (code == "5") return "value is incorrect (out of range) for this tag";
  if (code == "6") return "incorrect data format for value";
  if (code == "9") return "CompID problem";
  if (code == "10") return "SendingTime accuracy problem";
  if (code == "11") return "invalid MsgType";
  if (code == "13") return "tag appears more than once";
  if (code == "99") return "other";
  return "";
}

// "Name=code (meaning): Text", as reason_text, with the code's meaning when it is known.
std::string named_reason_text(const FIX::FieldMap& m, int code_tag, std::string_view code_name,
                              std::string_view (*name_of)(std::string_view)) {
  std::string out;
  if (auto code = field(m, code_tag)) {
    out = std::string(code_name) + "=" + *code;
    if (std::string_view meaning = name_of(*code); !meaning.empty()) {
      out += " (" + std::string(meaning) + ")";
    }
  }
  if (auto text = field(m, FIX::FIELD::Text)) {
    if (!out.empty()) out += ": ";
    out += *text;
  }
  return out.empty() ? std::string("no reason given") : out;
}

// The report for a reject of our message of type `msg_type`; `cl_ord_id` is the referenced
// message's ClOrdID, `orig_cl_ord_id` its OrigClOrdID (cancel and replace requests).
ParseResult reject_of_our_message(const FIX::Message& msg, const std::string& broker,
                                  const std::string& msg_type, const std::string& cl_ord_id,
                                  const std::string& orig_cl_ord_id, const std::string& reason) {
  BrokerReport r = base_report(msg, broker);
  if (msg_type == FIX::MsgType_NewOrderSingle) {
    r.client_order_id = cl_ord_id;
    r.event = core::EvReject{reason};
    r.summary = "NewOrderSingle rejected: " + reason;
  } else if (msg_type == FIX::MsgType_OrderStatusRequest) {
    // The broker will not answer status requests (at least not this one): the order core
    // must resolve the order another way. Nothing about the order itself changes.
    r.client_order_id = cl_ord_id;
    r.status_unsupported = true;
    r.event = core::EvStatus{};
    r.summary = "OrderStatusRequest refused: " + reason;
  } else if (msg_type == FIX::MsgType_OrderCancelRequest ||
             msg_type == FIX::MsgType_OrderCancelReplaceRequest) {
    r.client_order_id = orig_cl_ord_id;
    r.cancel_id = cl_ord_id;
    if (msg_type == FIX::MsgType_OrderCancelRequest) {
      r.event = core::EvCancelRejected{reason};
      r.summary = "OrderCancelRequest rejected: " + reason;
    } else {
      r.event = core::EvReplaceRejected{reason};
      r.summary = "OrderCancelReplaceRequest rejected: " + reason;
    }
  } else {
    return std::optional<BrokerReport>{};  // not one of our order messages
  }
  if (r.client_order_id.empty()) return std::optional<BrokerReport>{};  // no order to name
  return r;
}

}  // namespace

SentRef sent_ref_of(const FIX::Message& outbound) {
  SentRef ref;
  ref.msg_type = outbound.getHeader().isSetField(FIX::FIELD::MsgType)
                     ? outbound.getHeader().getField(FIX::FIELD::MsgType)
                     : std::string();
  ref.cl_ord_id = field(outbound, FIX::FIELD::ClOrdID).value_or("");
  ref.orig_cl_ord_id = field(outbound, FIX::FIELD::OrigClOrdID).value_or("");
  return ref;
}

ParseResult parse_business_reject(const FIX::Message& msg, const std::string& broker,
                                  const SentRef& ref) {
  const std::optional<std::string> ref_msg_type = field(msg, FIX::FIELD::RefMsgType);
  const std::string msg_type = ref_msg_type.value_or(ref.msg_type);
  // The recorded message is the referenced one only when the types agree.
  const bool ref_matches = !ref.msg_type.empty() && ref.msg_type == msg_type;
  std::string cl_ord_id = ref_matches ? ref.cl_ord_id : std::string();
  std::string orig_cl_ord_id = ref_matches ? ref.orig_cl_ord_id : std::string();
  if (auto id = field(msg, FIX::FIELD::BusinessRejectRefID); id && !id->empty()) {
    // For a cancel or replace the business id is the request's ClOrdID; the order's comes from
    // the record, and only when the record is that request.
    if (*id != cl_ord_id) orig_cl_ord_id.clear();
    cl_ord_id = *id;
  }
  const std::string reason =
      "business reject: " + named_reason_text(msg, FIX::FIELD::BusinessRejectReason,
                                              "BusinessRejectReason", business_reject_reason_name);
  return reject_of_our_message(msg, broker, msg_type, cl_ord_id, orig_cl_ord_id, reason);
}

ParseResult parse_session_reject(const FIX::Message& msg, const std::string& broker,
                                 const SentRef& ref) {
  std::string reason =
      "session reject: " + named_reason_text(msg, FIX::FIELD::SessionRejectReason,
                                             "SessionRejectReason", session_reject_reason_name);
  if (auto tag = field(msg, FIX::FIELD::RefTagID)) reason += " (tag " + *tag + ")";
  return reject_of_our_message(msg, broker, ref.msg_type, ref.cl_ord_id, ref.orig_cl_ord_id,
                               reason);
}

FIX::Message build_dont_know_trade(const FIX::Message& report) {
  FIX::Message m;
  set_common_header(m, FIX::MsgType_DontKnowTrade);
  // OrderID, ExecID, Symbol and Side are required in 35=Q: copied from the report (an
  // unreadable one may lack them: then "NONE", "?" rather than no answer).
  m.setField(FIX::FIELD::OrderID, field(report, FIX::FIELD::OrderID).value_or("NONE"));
  m.setField(FIX::FIELD::ExecID, field(report, FIX::FIELD::ExecID).value_or("NONE"));
  m.setField(FIX::DKReason(FIX::DKReason_NO_MATCHING_ORDER));
  m.setField(FIX::FIELD::Symbol, field(report, FIX::FIELD::Symbol).value_or("?"));
  m.setField(FIX::FIELD::Side, field(report, FIX::FIELD::Side).value_or("1"));
  for (int tag : {FIX::FIELD::LastQty, FIX::FIELD::LastPx}) {
    if (auto v = field(report, tag)) m.setField(tag, *v);
  }
  m.setField(FIX::Text("no order with this ClOrdID"));
  return m;
}

FIX::Message build_test_request(const std::string& test_req_id) {
  FIX::Message m;
  set_common_header(m, FIX::MsgType_TestRequest);
  m.setField(FIX::TestReqID(test_req_id));
  return m;
}

std::string mask_secrets(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::size_t end = raw.find('\x01', pos);
    if (end == std::string_view::npos) end = raw.size();
    std::string_view field_text = raw.substr(pos, end - pos);
    std::size_t eq = field_text.find('=');
    std::string_view tag = eq == std::string_view::npos ? field_text : field_text.substr(0, eq);
    if (eq != std::string_view::npos && (tag == "554" || tag == "925" || tag == "96")) {
      out.append(tag);
      out.append("=***");
    } else {
      out.append(field_text);
    }
    if (end < raw.size()) out.push_back('|');
    pos = end + 1;
  }
  return out;
}

}  // namespace brokergw::adapters::fix
