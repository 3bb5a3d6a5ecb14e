// The FIX adapter's session control, pure parts: sequence refusals recognised in the exact
// texts of QuickFIX 1.15.1 (src/C++/Session.cpp: doTargetTooLow builds "MsgSeqNum too low,
// expecting " << getExpectedTargetNum() << " but received " << msgSeqNum, logs it as an
// event and sends it as the Logout's Text) and in other brokers' wording, and the reconnect
// backoff after refusals.
#include <gtest/gtest.h>

#include "adapters/fix/sequence_refusal.h"
#include "adapters/fix/session_control.h"

namespace brokergw::adapters::fix {
namespace {

TEST(SequenceRefusal, readsQuickFixsOwnEventText) {
  auto r = parse_refusal_event("MsgSeqNum too low, expecting 44 but received 13");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->side, RefusalSide::kTheirsTooLow);
  EXPECT_EQ(r->expected, 44);
  EXPECT_EQ(r->received, 13);
}

TEST(SequenceRefusal, readsQuickFixsLogoutTextFromACounterparty) {
  // A QuickFIX acceptor refusing our Logon sends the same text in the Logout (58).
  auto r = parse_refusal_logout("MsgSeqNum too low, expecting 1044 but received 7");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->side, RefusalSide::kOursTooLow);
  EXPECT_EQ(r->expected, 1044);
  EXPECT_EQ(r->received, 7);
}

TEST(SequenceRefusal, readsOtherBrokersWording) {
  struct Case {
    const char* text;
    int expected;
    int received;
  } cases[] = {
      {"MsgSeqNum(34) too low, expected 44 received 13", 44, 13},
      {"Expected sequence number 44, received 13", 44, 13},
      {"MSGSEQNUM TOO LOW, EXPECTING 44 BUT RECEIVED 13", 44, 13},
      {"Sequence number too low. Expected: 500", 500, 0},
      {"Inbound sequence number lower than expected (expected=9, got=3)", 9, 3},
  };
  for (const auto& c : cases) {
    auto r = parse_refusal_logout(c.text);
    ASSERT_TRUE(r) << c.text;
    EXPECT_EQ(r->expected, c.expected) << c.text;
    EXPECT_EQ(r->received, c.received) << c.text;
  }
}

TEST(SequenceRefusal, ignoresEverythingElse) {
  for (const char* text : {
           "MsgSeqNum too high, expecting 5 but received 9",  // a gap: resend, not a refusal
           "Received logout request",
           "Initiated logon request",
           "Sending logout response",
           "ResendRequest for messages FROM: 1 TO: 4 has been satisfied.",
           "Logon contains ResetSeqNumFlag=Y, reseting sequence numbers to 1",
           "MsgSeqNum too low",  // no number: nothing to name
           "",
       }) {
    EXPECT_FALSE(parse_refusal_event(text)) << text;
    EXPECT_FALSE(parse_refusal_logout(text)) << text;
  }
  // A logout that names an expected number above what we sent is no refusal of ours.
  EXPECT_FALSE(parse_refusal_logout("Session closed, expected heartbeat 30 got 45"));
  // Only QuickFIX's own wording counts in its event log.
  EXPECT_FALSE(parse_refusal_event("Expected sequence number 44, received 13"));
}

TEST(RefusalBackoff, doublesFromOneSecondToAMinute) {
  using std::chrono::milliseconds;
  EXPECT_EQ(refusal_backoff(1), milliseconds(1000));
  EXPECT_EQ(refusal_backoff(2), milliseconds(2000));
  EXPECT_EQ(refusal_backoff(3), milliseconds(4000));
  EXPECT_EQ(refusal_backoff(6), milliseconds(32000));
  EXPECT_EQ(refusal_backoff(7), milliseconds(60000));
  EXPECT_EQ(refusal_backoff(1000), milliseconds(60000));
  EXPECT_EQ(refusal_backoff(0), milliseconds(1000));
}

}  // namespace
}  // namespace brokergw::adapters::fix
