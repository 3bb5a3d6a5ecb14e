// Unit tests for sim/fix_messages.*: the bytes QuickFIX 1.15.1 writes for the simulator's
// ExecutionReports, in particular the body field order a rule's field_order asks for (QuickFIX
// sorts fields by tag unless a message is built with its own message_order), and the fields of
// busts, corrections and restatements. QuickFIX message objects only: no session, no socket.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <quickfix/Message.h>

#include "sim/fix_messages.h"

namespace brokergw::sim {
namespace {

ExecReportOut sample_report(FieldOrder order) {
  ExecReportOut r;
  r.order_id = "SIM-1-1";
  r.cl_ord_id = "C1";
  r.exec_id = "SIMX-1-2";
  r.exec_type = fix44::kExecTrade;
  r.ord_status = fix44::kStatusFilled;
  r.account = "ACC1";
  r.symbol = "AAPL";
  r.side = kSideBuy;
  r.ord_type = '2';
  r.order_qty = Fixed::from_units(10);
  r.price = Fixed::from_units(187);
  r.last_qty = Fixed::from_units(10);
  r.last_px = Fixed::from_units(187);
  r.cum_qty = Fixed::from_units(10);
  r.avg_px = Fixed::from_units(187);
  r.extra_tags = {ExtraTag{9001, "ABC"}, ExtraTag{118, "1870"}};
  r.field_order = order;
  return r;
}

// The tags of a serialized message, in wire order.
std::vector<int> wire_tags(const std::string& text) {
  std::vector<int> tags;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eq = text.find('=', pos);
    const std::size_t soh = text.find('\x01', pos);
    tags.push_back(std::stoi(text.substr(pos, eq - pos)));
    pos = soh + 1;
  }
  return tags;
}

// The body tags: everything between MsgType(35) and CheckSum(10). Without a session the
// header is 9 and 35 only; BeginString(8) is set here as the session would.
std::vector<int> body_tags(FIX::Message message) {
  message.getHeader().setField(FIX::FIELD::BeginString, "FIX.4.4");
  std::vector<int> tags = wire_tags(message.toString());
  EXPECT_GE(tags.size(), 4u);
  EXPECT_EQ((std::vector<int>(tags.begin(), tags.begin() + 3)), (std::vector<int>{8, 9, 35}));
  EXPECT_EQ(tags.back(), 10);
  return std::vector<int>(tags.begin() + 3, tags.end() - 1);
}

const std::vector<int> kAscending{1,  6,  11, 14, 17, 31,  32,  37,  38,  39,
                                  40, 44, 54, 55, 60, 118, 150, 151, 9001};

TEST(SimFixMessages, TagOrderIsQuickFixsAscendingOrder) {
  EXPECT_EQ(body_tags(build_message(sample_report(FieldOrder::kTag))), kAscending);
}

TEST(SimFixMessages, ReversedPutsTheBodyInDescendingTagOrderOnTheWire) {
  const FIX::Message m = build_message(sample_report(FieldOrder::kReversed));
  EXPECT_EQ(body_tags(m), std::vector<int>(kAscending.rbegin(), kAscending.rend()));
  // The message is still well formed: QuickFIX parses it back (it sorts again by tag) with
  // every field and a correct BodyLength and CheckSum.
  FIX::Message with_begin = m;
  with_begin.getHeader().setField(FIX::FIELD::BeginString, "FIX.4.4");
  const FIX::Message parsed(with_begin.toString(), true);
  EXPECT_EQ(parsed.getField(FIX::FIELD::ExecID), "SIMX-1-2");
  EXPECT_EQ(parsed.getField(9001), "ABC");
}

TEST(SimFixMessages, ExtraFirstPutsTheExtraTagsFirstInTheirConfiguredOrder) {
  std::vector<int> expected{9001, 118};
  for (int t : kAscending) {
    if (t != 9001 && t != 118) expected.push_back(t);
  }
  EXPECT_EQ(body_tags(build_message(sample_report(FieldOrder::kExtraFirst))), expected);
}

TEST(SimFixMessages, ACopyKeepsItsFieldOrder) {
  const FIX::Message m = build_message(sample_report(FieldOrder::kReversed));
  FIX::Message copy = m;  // what FixSender keeps for duplicate_reports copies
  copy.getHeader().setField(FIX::FIELD::PossDupFlag, "Y");
  std::vector<int> tags = body_tags(copy);
  ASSERT_EQ(tags.front(), 43);  // a header field, written right after MsgType
  tags.erase(tags.begin());
  EXPECT_EQ(tags, body_tags(m));
}

TEST(SimFixMessages, BodyOrderIsAPermutation) {
  const std::vector<int> tags{1, 17, 150, 9001};
  const std::vector<ExtraTag> extra{ExtraTag{9001, "x"}};
  EXPECT_EQ(body_order(FieldOrder::kTag, tags, extra), tags);
  EXPECT_EQ(body_order(FieldOrder::kReversed, tags, extra), (std::vector<int>{9001, 150, 17, 1}));
  EXPECT_EQ(body_order(FieldOrder::kExtraFirst, tags, extra), (std::vector<int>{9001, 1, 17, 150}));
}

TEST(SimFixMessages, BustCorrectionAndRestatementFields) {
  ExecReportOut r = sample_report(FieldOrder::kTag);
  r.exec_type = fix44::kExecTradeCancel;
  r.exec_ref_id = "SIMX-1-1";
  FIX::Message m = build_message(r);
  EXPECT_EQ(m.getField(FIX::FIELD::ExecType), "H");
  EXPECT_EQ(m.getField(FIX::FIELD::ExecRefID), "SIMX-1-1");
  EXPECT_FALSE(m.isSetField(FIX::FIELD::ExecRestatementReason));

  r = sample_report(FieldOrder::kTag);
  r.exec_type = fix44::kExecRestated;
  r.last_qty.reset();
  r.last_px.reset();
  r.exec_restatement_reason = 3;
  m = build_message(r);
  EXPECT_EQ(m.getField(FIX::FIELD::ExecRestatementReason), "3");
  EXPECT_FALSE(m.isSetField(FIX::FIELD::ExecRefID));
  EXPECT_FALSE(m.isSetField(FIX::FIELD::LastQty));
}

}  // namespace
}  // namespace brokergw::sim
