// FIX 4.4 mapping: golden inbound messages (tests/golden/fix/*.fix, '|' for SOH) parsed into
// core events, outbound messages compared field by field with golden files, and secrets
// masked in logs and stripped from stored messages.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <quickfix/Message.h>

#include "adapters/fix/fix_mapping.h"
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

TEST(FixMapping, sessionRejectOfOurNewOrderRejectsTheOrder) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=3|34=10|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "45=5|58=bad field|371=44|372=D|373=5|10=000|"),
              false);
  auto r = parse_session_reject(m, "sim", "ord-5", "D");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_EQ((*r)->client_order_id, "ord-5");
  const auto& rej = std::get<core::EvReject>((*r)->event);
  EXPECT_NE(rej.reason.find("bad field"), std::string::npos);
  EXPECT_NE(rej.reason.find("tag 44"), std::string::npos);
  // A reject of something that is not one of our order messages is informational.
  auto none = parse_session_reject(m, "sim", "", "");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
}

TEST(FixMapping, businessRejectOfOurNewOrderRejectsTheOrder) {
  FIX::Message m;
  m.setString(with_soh("8=FIX.4.4|9=0|35=j|34=11|49=SIMBROKER|56=BROKERGW|52=20261125-14:00:00|"
                       "45=6|58=unknown account|372=D|379=ord-6|380=0|10=000|"),
              false);
  auto r = parse_business_reject(m, "sim", "ord-6", "");
  ASSERT_TRUE(r && r->has_value());
  EXPECT_TRUE(std::holds_alternative<core::EvReject>((*r)->event));
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
