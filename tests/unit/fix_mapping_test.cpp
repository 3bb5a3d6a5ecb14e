// FIX 4.4 mapping: golden inbound messages (tests/golden/fix/*.fix, '|' for SOH) parsed into
// core events, outbound messages compared field by field with golden files, rejects of our
// messages tied to their orders, the inbound probe's bookkeeping, and secrets masked in logs
// and stripped from stored messages.
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <quickfix/Message.h>

#include "adapters/fix/fix_mapping.h"
#include "adapters/fix/inbound_probe.h"
#include "adapters/fix/masking_store.h"

namespace brokergw::adapters::fix {
namespace {

std::string golden(const std::string& name) {
  std::ifstream in(std::string(BROKERGW_SOURCE_DIR) + "/tests/golden/fix/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string with_soh(std::string s) {
  for (char& c : s)
    if (c == '|') c = '\x01';
  return s;
}

FIX::Message inbound(const std::string& name) {
  FIX::Message m;
  m.setString(with_soh(golden(name)), false);  // golden files carry placeholder length/checksum
  return m;
}

// Body fields in tag order, TransactTime (60) left out because it is "now".
std::string body_fields(const FIX::Message& m) {
  std::map<int, std::string> fields;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (it->getTag() != 60) fields[it->getTag()] = it->getString();
  }
  std::string out = "35=" + m.getHeader().getField(35) + "|";
  for (const auto& [tag, value] : fields) out += std::to_string(tag) + "=" + value + "|";
  return out;
}

core::Order sample_order() {
  core::NewOrderRequest r;
  r.client_order_id = "ord-1";
  r.account = "ACC-1";
  r.broker = "sim";
  r.symbol = "BRK.B";
  r.side = core::Side::kSellShort;
  r.quantity = core::Qty{*core::Decimal::parse("100.5")};
  r.order_type = core::OrderType::kLimit;
  r.limit_price = core::Price{*core::Decimal::parse("187.25")};
  r.time_in_force = core::TimeInForce::kGtc;
  return core::make_order(r, 1);
}

TEST(FixMapping, newOrderSingleMatchesGoldenAndKeepsDecimalsExact) {
  FIX::Message m = build_new_order_single(sample_order());
  EXPECT_EQ(body_fields(m), golden("nos_limit.fix"));
  EXPECT_TRUE(m.isSetField(60));
}

TEST(FixMapping, cancelRequestCarriesBothIds) {
  core::Order o = sample_order();
  o.broker_order_id = "SIM-7";
  FIX::Message m = build_cancel_request(o, "cxl-1");
  EXPECT_EQ(m.getHeader().getField(35), "F");
  EXPECT_EQ(m.getField(11), "cxl-1");
  EXPECT_EQ(m.getField(41), "ord-1");
  EXPECT_EQ(m.getField(37), "SIM-7");
  EXPECT_EQ(m.getField(38), "100.5");
}

TEST(FixMapping, ackBecomesEvAck) {
  auto r = parse_execution_report(inbound("er_ack.fix"), "sim");
  ASSERT_TRUE(r && r->has_value()) << (r ? "" : r.error());
  const BrokerReport& rep = **r;
  EXPECT_EQ(rep.client_order_id, "ord-1");
  EXPECT_EQ(rep.exec_id, "E-1");
  ASSERT_TRUE(std::holds_alternative<core::EvAck>(rep.event));
  EXPECT_EQ(std::get<core::EvAck>(rep.event).broker_order_id, "SIM-1");
  EXPECT_FALSE(rep.possible_duplicate);
}

TEST(FixMapping, partialFillBecomesEvFillWithExactDecimals) {
  auto r = parse_execution_report(inbound("er_partial_fill.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  const auto& fill = std::get<core::EvFill>((*r)->event);
  EXPECT_EQ(fill.exec_id, "E-2");
  EXPECT_EQ(fill.last_qty.value.to_string(), "40");
  EXPECT_EQ(fill.last_px.value.to_string(), "187.25");
}

TEST(FixMapping, fractionalFillIsExactAndPossDupIsSeen) {
  auto r = parse_execution_report(inbound("er_fill_fractional.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  const auto& fill = std::get<core::EvFill>((*r)->event);
  EXPECT_EQ(fill.last_qty.value.to_string(), "60.5");
  EXPECT_EQ(fill.last_px.value.to_string(), "187.26000001");
  EXPECT_TRUE((*r)->possible_duplicate);
}

TEST(FixMapping, rejectCarriesReasonText) {
  auto r = parse_execution_report(inbound("er_reject.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  const auto& rej = std::get<core::EvReject>((*r)->event);
  EXPECT_NE(rej.reason.find("symbol not tradable"), std::string::npos);
}

TEST(FixMapping, canceledReportRefersToTheOriginalOrder) {
  auto r = parse_execution_report(inbound("er_canceled.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-3");
  EXPECT_EQ((*r)->cancel_id, "cxl-1");
  EXPECT_TRUE(std::holds_alternative<core::EvCanceled>((*r)->event));
}

TEST(FixMapping, statusReportBecomesEvStatus) {
  auto r = parse_execution_report(inbound("er_status.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  const auto& st = std::get<core::EvStatus>((*r)->event);
  EXPECT_EQ(st.broker_state, core::OrderState::kPartiallyFilled);
  EXPECT_EQ(st.cum_qty.value.to_string(), "40");
  EXPECT_EQ(st.avg_price.value.to_string(), "187.25");
}

TEST(FixMapping, badDecimalIsAnErrorNamingTheField) {
  auto r = parse_execution_report(inbound("er_bad_qty.fix"), "sim");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("LastQty(32)"), std::string::npos) << r.error();
}

TEST(FixMapping, missingExecIdIsAnError) {
  FIX::Message m = inbound("er_ack.fix");
  m.removeField(17);
  auto r = parse_execution_report(m, "sim");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("ExecID(17)"), std::string::npos);
}

TEST(FixMapping, cancelRejectBecomesEvCancelRejected) {
  auto r = parse_cancel_reject(inbound("cancel_reject.fix"), "sim");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-1");
  EXPECT_EQ((*r)->cancel_id, "cxl-9");
  const auto& cr = std::get<core::EvCancelRejected>((*r)->event);
  EXPECT_NE(cr.reason.find("too late to cancel"), std::string::npos);
}

TEST(FixMapping, cancelRejectOfACanceledOrderSaysCanceled) {
  // "Too late to cancel" with OrdStatus=4: the order is canceled (often the answer to a cancel
  // sent again after the first one worked).
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=9|34=12|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "11=cxl-9|37=SIM-1|39=4|41=ord-1|58=order already canceled|102=0|434=1|"
                       "10=000|"),
              false);
  auto r = parse_cancel_reject(m, "sim");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-1");
  EXPECT_EQ((*r)->cancel_id, "cxl-9");
  ASSERT_TRUE(std::holds_alternative<core::EvCanceled>((*r)->event));
  EXPECT_EQ(adapters::report_kind(**r), core::ReportKind::kCanceled);
}

FIX::Message report_of(const std::string& body) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=8|34=12|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|" +
                       body + "|10=000|"),
              false);
  return m;
}

TEST(FixMapping, bustsCorrectionsAndRestatementsBecomeTheirOwnEvents) {
  // FIX 4.4: ExecType H (Trade Cancel) and G (Trade Correct) name the fill in ExecRefID(19).
  auto bust = parse_execution_report(
      report_of("11=ord-1|17=E9|19=E5|37=SIM-1|39=1|150=H|54=1|55=AAPL|151=60|14=40|6=10|32=60|"
                "31=10"),
      "sim");
  ASSERT_TRUE(bust && bust->has_value()) << (bust ? "" : bust.error());
  EXPECT_EQ(adapters::report_kind(**bust), core::ReportKind::kBust);
  EXPECT_EQ(std::get<core::EvBust>((*bust)->event).exec_ref_id, "E5");
  EXPECT_EQ((*bust)->content.cum_qty, core::Decimal::parse("40"));
  EXPECT_EQ((*bust)->content.exec_type, "H");

  auto corr = parse_execution_report(
      report_of("11=ord-1|17=E10|19=E5|37=SIM-1|39=2|150=G|54=1|55=AAPL|151=0|14=100|6=9.5|"
                "32=60|31=9.5"),
      "sim");
  ASSERT_TRUE(corr && corr->has_value());
  EXPECT_EQ(adapters::report_kind(**corr), core::ReportKind::kCorrection);
  const auto& ev = std::get<core::EvCorrect>((*corr)->event);
  EXPECT_EQ(ev.exec_ref_id, "E5");
  EXPECT_EQ(ev.new_qty.value, *core::Decimal::parse("60"));
  EXPECT_EQ(ev.new_px.value, *core::Decimal::parse("9.5"));

  auto restated = parse_execution_report(
      report_of("11=ord-1|17=E11|37=SIM-1|39=1|150=D|378=1|54=1|55=AAPL|151=60|14=40|6=10"), "sim");
  ASSERT_TRUE(restated && restated->has_value());
  EXPECT_EQ(adapters::report_kind(**restated), core::ReportKind::kRestated);

  // A bust without ExecRefID cannot be applied: an error naming the field.
  auto no_ref = parse_execution_report(
      report_of("11=ord-1|17=E12|37=SIM-1|39=1|150=H|54=1|55=AAPL|151=60|14=40|6=10"), "sim");
  ASSERT_FALSE(no_ref);
  EXPECT_NE(no_ref.error().find("ExecRefID(19)"), std::string::npos) << no_ref.error();
}

TEST(FixMapping, fix42ExecTransTypeSaysBustCorrectAndStatus) {
  // FIX 4.2: a fill is ExecType 1/2; ExecTransType(20) 1 cancels and 2 corrects ExecRefID.
  auto bust = parse_execution_report(
      report_of("11=ord-1|17=E9|19=E5|20=1|37=SIM-1|39=1|150=2|54=1|55=AAPL|151=60|14=40|6=10|"
                "32=60|31=10"),
      "sim");
  ASSERT_TRUE(bust && bust->has_value());
  EXPECT_EQ(adapters::report_kind(**bust), core::ReportKind::kBust);
  EXPECT_EQ((*bust)->content.exec_type, "2/1");
  auto corr = parse_execution_report(
      report_of("11=ord-1|17=E9|19=E5|20=2|37=SIM-1|39=2|150=2|54=1|55=AAPL|151=0|14=100|6=10|"
                "32=60|31=10"),
      "sim");
  ASSERT_TRUE(corr && corr->has_value());
  EXPECT_EQ(adapters::report_kind(**corr), core::ReportKind::kCorrection);
  auto status = parse_execution_report(
      report_of("11=ord-1|17=0|20=3|37=SIM-1|39=1|150=1|54=1|55=AAPL|151=60|14=40|6=10"), "sim");
  ASSERT_TRUE(status && status->has_value());
  EXPECT_EQ(adapters::report_kind(**status), core::ReportKind::kStatus);
  auto fill = parse_execution_report(
      report_of("11=ord-1|17=E7|20=0|37=SIM-1|39=1|150=1|54=1|55=AAPL|151=60|14=40|6=10|32=40|"
                "31=10"),
      "sim");
  ASSERT_TRUE(fill && fill->has_value());
  EXPECT_EQ(adapters::report_kind(**fill), core::ReportKind::kFill);
  auto bad = parse_execution_report(
      report_of("11=ord-1|17=E7|20=9|37=SIM-1|39=1|150=1|54=1|55=AAPL|151=60|14=40|6=10"), "sim");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("ExecTransType(20)"), std::string::npos);
}

TEST(FixMapping, cancelRejectForAnUnknownOrderIsItsOwnKind) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=9|34=12|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "11=cxl-1|41=ord-1|37=NONE|39=8|434=1|102=1|58=unknown order|10=000|"),
              false);
  auto r = parse_cancel_reject(m, "sim");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ(adapters::report_kind(**r), core::ReportKind::kCancelRejectedUnknownOrder);
}

TEST(FixMapping, anUnreadableReportKeepsItsRawTextAndIds) {
  const FIX::Message m = report_of("11=ord-1|17=E9|37=SIM-1|39=1|150=F|54=1|55=AAPL|32=abc|31=1");
  auto r = parse_execution_report(m, "sim");
  ASSERT_FALSE(r);
  const adapters::BrokerReport u = unparseable_report(m, "sim", r.error());
  EXPECT_EQ(adapters::report_kind(u), core::ReportKind::kUnparseable);
  EXPECT_EQ(u.client_order_id, "ord-1");
  EXPECT_NE(u.raw.find("32=abc"), std::string::npos) << u.raw;
  EXPECT_NE(u.summary.find("LastQty(32)"), std::string::npos) << u.summary;
}

TEST(FixMapping, informationalExecTypesAreReportedAsInformational) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=8|34=12|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "11=ord-1|17=E10|37=SIM-1|39=A|150=A|54=1|55=AAPL|151=100|14=0|6=0|"
                       "10=000|"),
              false);
  auto r = parse_execution_report(m, "sim");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ(adapters::report_kind(**r), core::ReportKind::kInformational);
}

TEST(FixMapping, sessionRejectOfOurNewOrderRejectsTheOrder) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=3|34=10|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "45=5|58=bad field|371=44|372=D|373=5|10=000|"),
              false);
  auto r = parse_session_reject(m, "sim", SentRef{"D", "ord-5", ""});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-5");
  const auto& rej = std::get<core::EvReject>((*r)->event);
  EXPECT_NE(rej.reason.find("bad field"), std::string::npos);
  EXPECT_NE(rej.reason.find("tag 44"), std::string::npos);
  // A reject of something that is not one of our order messages is informational.
  auto none = parse_session_reject(m, "sim", SentRef{});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(FixMapping, businessRejectOfOurNewOrderRejectsTheOrder) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=j|34=11|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "45=6|58=unknown account|372=D|379=ord-6|380=0|10=000|"),
              false);
  auto r = parse_business_reject(m, "sim", SentRef{});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-6");  // from BusinessRejectRefID(379)
  EXPECT_TRUE(std::holds_alternative<core::EvReject>((*r)->event));
  EXPECT_FALSE((*r)->status_unsupported);
}

TEST(FixMapping, sentRefRecordsTypeAndBothIds) {
  core::Order o = sample_order();
  SentRef nos = sent_ref_of(build_new_order_single(o));
  EXPECT_EQ(nos.msg_type, "D");
  EXPECT_EQ(nos.cl_ord_id, "ord-1");
  EXPECT_EQ(nos.orig_cl_ord_id, "");
  SentRef cxl = sent_ref_of(build_cancel_request(o, "cxl-1"));
  EXPECT_EQ(cxl.msg_type, "F");
  EXPECT_EQ(cxl.cl_ord_id, "cxl-1");
  EXPECT_EQ(cxl.orig_cl_ord_id, "ord-1");
  SentRef status = sent_ref_of(build_status_request(o));
  EXPECT_EQ(status.msg_type, "H");
  EXPECT_EQ(status.cl_ord_id, "ord-1");
}

// ---- A broker that refuses status requests ----

TEST(FixMapping, businessRejectOfOurStatusRequestSaysStatusUnsupported) {
  // 35=j|372=H|379=ord-1|380=3: what a broker without OrderStatusRequest sends.
  auto r = parse_business_reject(inbound("bmr_status_unsupported.fix"), "sim", SentRef{});
  ASSERT_TRUE(r && r->has_value()) << (r ? "" : r.error());
  const BrokerReport& rep = **r;
  EXPECT_TRUE(rep.status_unsupported);
  EXPECT_FALSE(rep.not_at_broker);
  EXPECT_FALSE(rep.duplicate_order);
  EXPECT_EQ(rep.broker, "sim");
  EXPECT_EQ(rep.client_order_id, "ord-1");
  EXPECT_EQ(rep.cancel_id, "");
  EXPECT_EQ(rep.exec_id, "");
  EXPECT_TRUE(std::holds_alternative<core::EvStatus>(rep.event));
  EXPECT_EQ(report_kind(rep), core::ReportKind::kStatusUnsupported);
  EXPECT_NE(rep.summary.find("OrderStatusRequest"), std::string::npos) << rep.summary;
  EXPECT_NE(rep.summary.find("BusinessRejectReason=3 (unsupported message type)"),
            std::string::npos)
      << rep.summary;
  EXPECT_NE(rep.summary.find("OrderStatusRequest not supported"), std::string::npos);
}

TEST(FixMapping, businessRejectOfAStatusRequestFoundBySequenceNumber) {
  // Without BusinessRejectRefID(379): the record of what we sent as 45=7 names the order.
  FIX::Message m = inbound("bmr_status_unsupported.fix");
  m.removeField(379);
  auto r = parse_business_reject(m, "sim", SentRef{"H", "ord-7", ""});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE((*r)->status_unsupported);
  EXPECT_EQ((*r)->client_order_id, "ord-7");
  // Without RefMsgType the record's type counts too.
  m.removeField(372);
  r = parse_business_reject(m, "sim", SentRef{"H", "ord-7", ""});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE((*r)->status_unsupported);
  EXPECT_EQ((*r)->client_order_id, "ord-7");
  // Nothing names the order: informational, no report.
  auto none = parse_business_reject(m, "sim", SentRef{});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  // The record is of another message than 372 says: only 379 names the order.
  FIX::Message typed = inbound("bmr_status_unsupported.fix");
  typed.removeField(379);
  none = parse_business_reject(typed, "sim", SentRef{"D", "ord-8", ""});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(FixMapping, sessionRejectOfOurStatusRequestSaysStatusUnsupported) {
  // 35=3|45=8|373=11: the broker's dictionary has no 35=H.
  FIX::Message m = inbound("reject_status_request.fix");
  auto r = parse_session_reject(m, "sim", SentRef{"H", "ord-2", ""});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE((*r)->status_unsupported);
  EXPECT_EQ((*r)->client_order_id, "ord-2");
  EXPECT_TRUE(std::holds_alternative<core::EvStatus>((*r)->event));
  EXPECT_EQ(report_kind(**r), core::ReportKind::kStatusUnsupported);
  EXPECT_NE((*r)->summary.find("SessionRejectReason=11 (invalid MsgType)"), std::string::npos)
      << (*r)->summary;
  // A Reject names no business id: without the record it is about no order.
  auto none = parse_session_reject(m, "sim", SentRef{});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(FixMapping, rejectsOfOurCancelNameTheOrderAndTheCancel) {
  FIX::Message bmr;
  bmr.setString(with_soh("8=FIX.4.4|9=0|35=j|34=14|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                         "45=9|372=F|379=cxl-1|380=0|10=000|"),
                false);
  auto r = parse_business_reject(bmr, "sim", SentRef{"F", "cxl-1", "ord-1"});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-1");
  EXPECT_EQ((*r)->cancel_id, "cxl-1");
  EXPECT_TRUE(std::holds_alternative<core::EvCancelRejected>((*r)->event));
  EXPECT_FALSE((*r)->status_unsupported);
  // A business id of another cancel than the recorded one cannot name the order.
  auto none = parse_business_reject(bmr, "sim", SentRef{"F", "cxl-0", "ord-0"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());

  FIX::Message reject;
  reject.setString(with_soh("8=FIX.4.4|9=0|35=3|34=15|49=SIMBROKER|56=BROKERGW|"
                            "52=20261125-14:00:00|45=9|373=1|371=41|10=000|"),
                   false);
  r = parse_session_reject(reject, "sim", SentRef{"F", "cxl-1", "ord-1"});
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-1");
  EXPECT_EQ((*r)->cancel_id, "cxl-1");
  const auto& cr = std::get<core::EvCancelRejected>((*r)->event);
  EXPECT_NE(cr.reason.find("required tag missing"), std::string::npos) << cr.reason;
}

// ---- The inbound probe ----

TEST(FixMapping, testRequestMatchesGolden) {
  FIX::Message m = build_test_request("bgw-1764079200000000-1");
  EXPECT_EQ(body_fields(m), golden("test_request.fix"));
}

TEST(FixInboundProbe, heartbeatForOurTestRequestProvesItsSendTime) {
  InboundProbe probe;
  EXPECT_EQ(probe.read_up_to_us(), 0);
  auto id = probe.begin(5'000'000);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->rfind("bgw-5000000-", 0), 0u) << *id;
  EXPECT_EQ(probe.outstanding(), 1u);
  EXPECT_EQ(probe.read_up_to_us(), 0);  // nothing proven before the answer
  EXPECT_EQ(probe.answered(*id), 5'000'000);
  EXPECT_EQ(probe.read_up_to_us(), 5'000'000);
  EXPECT_EQ(probe.outstanding(), 0u);
  EXPECT_FALSE(probe.answered(*id));  // a second Heartbeat with the same id changes nothing
  EXPECT_EQ(probe.read_up_to_us(), 5'000'000);
}

TEST(FixInboundProbe, foreignTestReqIdsChangeNothing) {
  InboundProbe probe;
  auto id = probe.begin(1'000'000);
  ASSERT_TRUE(id);
  EXPECT_FALSE(probe.answered("TEST"));  // QuickFIX's own heartbeat monitoring
  EXPECT_FALSE(probe.answered(""));
  EXPECT_FALSE(probe.answered("bgw-999-1"));  // our form, but never sent
  EXPECT_EQ(probe.read_up_to_us(), 0);
  EXPECT_EQ(probe.outstanding(), 1u);
}

TEST(FixInboundProbe, oneOutstandingAtATimeUntilItIsStale) {
  InboundProbe probe;
  auto first = probe.begin(10'000'000);
  ASSERT_TRUE(first);
  EXPECT_FALSE(probe.begin(10'000'000));
  EXPECT_FALSE(probe.begin(10'999'999));
  auto second = probe.begin(11'000'000);  // the first is 1 s old: unanswered, try again
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(probe.outstanding(), 2u);
  // The late answer to the first still proves its (earlier) time.
  EXPECT_EQ(probe.answered(*first), 10'000'000);
  EXPECT_EQ(probe.read_up_to_us(), 10'000'000);
  EXPECT_EQ(probe.answered(*second), 11'000'000);
  EXPECT_EQ(probe.read_up_to_us(), 11'000'000);
  // Answered: a new one may go at once.
  EXPECT_TRUE(probe.begin(11'000'001));
}

TEST(FixInboundProbe, aNewerAnswerRetiresOlderOnesAndNeverMovesBack) {
  InboundProbe probe;
  auto a = probe.begin(1'000'000);
  auto b = probe.begin(2'000'000);
  auto c = probe.begin(3'000'000);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(probe.answered(*b), 2'000'000);
  EXPECT_EQ(probe.outstanding(), 1u);  // a is retired with b, c is still out
  EXPECT_FALSE(probe.answered(*a));
  EXPECT_EQ(probe.read_up_to_us(), 2'000'000);
  probe.reset();
  EXPECT_EQ(probe.read_up_to_us(), 2'000'000);  // proven stays proven
  // The clock went back: a new probe may go (the old one is not "recent"), and its answer
  // does not move the proof back.
  auto d = probe.begin(4'000'000);
  ASSERT_TRUE(d);
  auto back = probe.begin(1'500'000);
  ASSERT_TRUE(back);
  EXPECT_EQ(probe.answered(*back), 1'500'000);
  EXPECT_EQ(probe.read_up_to_us(), 2'000'000);
}

TEST(FixInboundProbe, logonOrLogoutForgetsOutstandingRequests) {
  InboundProbe probe;
  auto id = probe.begin(1'000'000);
  ASSERT_TRUE(id);
  probe.reset();
  EXPECT_EQ(probe.outstanding(), 0u);
  EXPECT_FALSE(probe.answered(*id));  // an earlier connection's TestRequest proves nothing
  EXPECT_EQ(probe.read_up_to_us(), 0);
  EXPECT_TRUE(probe.begin(1'000'001));  // no need to wait for the stale one
}

TEST(FixInboundProbe, abandonedRequestsDoNotBlockOrProve) {
  InboundProbe probe;
  auto id = probe.begin(1'000'000);
  ASSERT_TRUE(id);
  probe.abandon(*id);
  EXPECT_EQ(probe.outstanding(), 0u);
  EXPECT_FALSE(probe.answered(*id));
  EXPECT_TRUE(probe.begin(1'000'001));
}

TEST(FixInboundProbe, outstandingRequestsAreBounded) {
  InboundProbe probe;
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto id = probe.begin(static_cast<core::TimestampUs>(i) * InboundProbe::kRetryUs);
    ASSERT_TRUE(id);
    ids.push_back(*id);
  }
  EXPECT_EQ(probe.outstanding(), InboundProbe::kMaxOutstanding);
  EXPECT_FALSE(probe.answered(ids.front()));  // the oldest were dropped
  EXPECT_EQ(probe.answered(ids.back()), 99 * InboundProbe::kRetryUs);
}

TEST(FixInboundProbe, concurrentProbesAndAnswersKeepTheProofMonotonic) {
  // The scheduler probes while the session thread answers (meaningful under TSan).
  InboundProbe probe;
  std::atomic<bool> stop{false};
  std::vector<std::string> sent;
  std::mutex sent_mu;
  std::thread prober([&] {
    for (core::TimestampUs t = 1; t <= 20000; ++t) {
      if (auto id = probe.begin(t * 100)) {
        std::lock_guard lock(sent_mu);
        sent.push_back(*id);
      }
      if (t % 1000 == 0) probe.reset();
    }
    stop = true;
  });
  core::TimestampUs last = 0;
  while (!stop) {
    std::string id;
    {
      std::lock_guard lock(sent_mu);
      if (!sent.empty()) {
        id = sent.back();
        sent.pop_back();
      }
    }
    if (!id.empty()) probe.answered(id);
    const core::TimestampUs now = probe.read_up_to_us();
    EXPECT_GE(now, last);
    last = now;
  }
  prober.join();
  EXPECT_LE(probe.read_up_to_us(), 20000 * 100);
}

TEST(FixSecrets, maskingHidesPasswordsInLogs) {
  std::string raw = with_soh("8=FIX.4.4|9=70|35=A|553=alice|554=s3cr3t|925=n3w|98=0|108=30|10=1|");
  std::string masked = mask_secrets(raw);
  EXPECT_EQ(masked.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(masked.find("n3w"), std::string::npos);
  EXPECT_NE(masked.find("554=***"), std::string::npos);
  EXPECT_NE(masked.find("553=alice"), std::string::npos);
}

TEST(FixSecrets, storedLogonHasNoPasswordAndStaysValid) {
  FIX::Message logon;
  logon.getHeader().setField(8, "FIX.4.4");
  logon.getHeader().setField(35, "A");
  logon.getHeader().setField(34, "1");
  logon.setField(98, "0");
  logon.setField(108, "30");
  logon.setField(553, "alice");
  logon.setField(554, "s3cr3t");
  std::string stored = strip_secrets_for_storage(logon.toString());
  EXPECT_EQ(stored.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(stored.find("\x01"
                        "554="),
            std::string::npos);
  FIX::Message reparsed(stored, true);  // length and checksum still valid
  EXPECT_EQ(reparsed.getField(553), "alice");
  std::string plain = with_soh("8=FIX.4.4|9=5|35=0|10=163|");
  EXPECT_EQ(strip_secrets_for_storage(plain), plain);
}

}  // namespace
}  // namespace brokergw::adapters::fix
