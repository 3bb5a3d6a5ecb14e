#include "sim/fix_messages.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>

#include <quickfix/FieldNumbers.h>
#include <quickfix/Fields.h>
#include <quickfix/MessageSorters.h>

namespace brokergw::sim {
namespace {

namespace tag = FIX::FIELD;

// A message body being assembled: fields in the order they are added, each tag once.
class Body {
 public:
  void set(int field, std::string value) { fields_.emplace_back(field, std::move(value)); }
  void set_if(int field, const std::string& value) {
    if (!value.empty()) set(field, value);
  }
  void set_if(int field, const std::optional<Fixed>& value) {
    if (value) set(field, value->to_string());
  }
  void set_char(int field, char value) { set(field, std::string(1, value)); }

  // A message with these fields, written in ascending tag order (kTag) or in `order`.
  FIX::Message message(const char* msg_type, FieldOrder order = FieldOrder::kTag,
                       const std::vector<ExtraTag>& extra = {}) const {
    std::vector<int> tags;
    for (const auto& field : fields_) tags.push_back(field.first);
    std::sort(tags.begin(), tags.end());
    // QuickFIX's "group" message_order: the listed tags in the listed order (it copies the
    // list). Every tag of the body is listed, so none falls back to tag order.
    std::vector<int> wire = body_order(order, tags, extra);
    wire.push_back(0);  // the list's terminator
    FIX::Message m = order == FieldOrder::kTag
                         ? FIX::Message()
                         : FIX::Message(FIX::message_order(FIX::message_order::header),
                                        FIX::message_order(FIX::message_order::trailer),
                                        FIX::message_order(wire.data()));
    m.getHeader().setField(tag::MsgType, msg_type);
    for (const auto& [field, value] : fields_) m.setField(field, value);
    return m;
  }

 private:
  std::vector<std::pair<int, std::string>> fields_;
};

}  // namespace

std::vector<int> body_order(FieldOrder order, const std::vector<int>& tags,
                            const std::vector<ExtraTag>& extra) {
  std::vector<int> out;
  switch (order) {
    case FieldOrder::kTag:
      out = tags;
      break;
    case FieldOrder::kReversed:
      out.assign(tags.rbegin(), tags.rend());
      break;
    case FieldOrder::kExtraFirst:
      for (const ExtraTag& e : extra) {
        if (std::find(tags.begin(), tags.end(), e.tag) != tags.end()) out.push_back(e.tag);
      }
      for (int t : tags) {
        if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
      }
      break;
  }
  return out;
}

FIX::Message build_message(const ExecReportOut& r) {
  Body b;
  b.set(tag::OrderID, r.order_id);
  b.set_if(tag::ClOrdID, r.cl_ord_id);
  b.set_if(tag::OrigClOrdID, r.orig_cl_ord_id);
  b.set_if(tag::OrdStatusReqID, r.ord_status_req_id);
  b.set_if(tag::MassStatusReqID, r.mass_status_req_id);
  if (r.tot_num_reports) b.set(tag::TotNumReports, std::to_string(*r.tot_num_reports));
  if (r.last_rpt_requested) b.set(tag::LastRptRequested, *r.last_rpt_requested ? "Y" : "N");
  b.set(tag::ExecID, r.exec_id);
  b.set_if(tag::ExecRefID, r.exec_ref_id);
  b.set_char(tag::ExecType, r.exec_type);
  b.set_char(tag::OrdStatus, r.ord_status);
  if (r.ord_rej_reason) b.set(tag::OrdRejReason, std::to_string(*r.ord_rej_reason));
  if (r.exec_restatement_reason) {
    b.set(tag::ExecRestatementReason, std::to_string(*r.exec_restatement_reason));
  }
  b.set_if(tag::Account, r.account);
  b.set_if(tag::Symbol, r.symbol);
  b.set_char(tag::Side, r.side);
  b.set_if(tag::OrderQty, r.order_qty);
  if (r.ord_type != 0) b.set_char(tag::OrdType, r.ord_type);
  b.set_if(tag::Price, r.price);
  b.set_if(tag::LastQty, r.last_qty);
  b.set_if(tag::LastPx, r.last_px);
  b.set(tag::LeavesQty, r.leaves_qty.to_string());
  b.set(tag::CumQty, r.cum_qty.to_string());
  b.set(tag::AvgPx, r.avg_px.to_string());
  b.set(tag::TransactTime, FIX::TransactTime(FIX::UtcTimeStamp(), 3).getString());
  b.set_if(tag::Text, r.text);
  // The broker's dialect (extra_tags): none of these is a tag set above (sim/rules.h).
  for (const ExtraTag& extra : r.extra_tags) b.set(extra.tag, extra.value);
  return b.message(FIX::MsgType_ExecutionReport, r.field_order, r.extra_tags);
}

FIX::Message build_message(const CancelRejectOut& r) {
  Body b;
  b.set(tag::OrderID, r.order_id);
  b.set(tag::ClOrdID, r.cl_ord_id);
  b.set(tag::OrigClOrdID, r.orig_cl_ord_id);
  b.set_char(tag::OrdStatus, r.ord_status);
  b.set_if(tag::Account, r.account);
  b.set(tag::TransactTime, FIX::TransactTime(FIX::UtcTimeStamp(), 3).getString());
  b.set_char(tag::CxlRejResponseTo, fix44::kCxlRejResponseToCancel);
  b.set(tag::CxlRejReason, std::to_string(r.cxl_rej_reason));
  b.set_if(tag::Text, r.text);
  return b.message(FIX::MsgType_OrderCancelReject);
}

FIX::Message build_message(const BusinessRejectOut& r) {
  Body b;
  if (r.ref_seq_num > 0) b.set(tag::RefSeqNum, std::to_string(r.ref_seq_num));
  b.set(tag::RefMsgType, r.ref_msg_type);
  b.set_if(tag::BusinessRejectRefID, r.business_reject_ref_id);
  b.set(tag::BusinessRejectReason, std::to_string(r.reason));
  b.set_if(tag::Text, r.text);
  return b.message(FIX::MsgType_BusinessMessageReject);
}

}  // namespace brokergw::sim
