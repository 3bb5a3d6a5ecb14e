// Recognises a FIX session refused because of sequence numbers, from the texts QuickFIX 1.15.1
// and counterparties produce. Pure functions: no QuickFIX, no I/O, any thread.
//
// Two directions:
//  * kTheirsTooLow: the broker's message carries a MsgSeqNum below the one we expect (a broker
//    that reset its sequence numbers). QuickFIX (Session::doTargetTooLow) logs the event
//    "MsgSeqNum too low, expecting 44 but received 13", sends a Logout with that Text and
//    disconnects. expected = our next target number, received = the broker's MsgSeqNum.
//  * kOursTooLow: the broker logs us out because our MsgSeqNum is below what it expects (the
//    Logout's Text, e.g. QuickFIX's own "MsgSeqNum too low, expecting 44 but received 13", or
//    "Expected sequence number 44, received 13"). expected = what the broker expects from us,
//    received = what we sent (0 when the text does not say).
//
// Invariant: a text is a refusal only if it says the number is too low or what is expected;
// "MsgSeqNum too high" (a gap, answered by a ResendRequest) is never a refusal, and neither is
// a text without a number. A refusal always has expected >= 1.
#pragma once

#include <optional>
#include <string_view>

namespace brokergw::adapters::fix {

enum class RefusalSide {
  kTheirsTooLow,  // we refused the broker's MsgSeqNum (our event log)
  kOursTooLow,    // the broker refused ours (its Logout's Text)
};

struct ParsedRefusal {
  RefusalSide side = RefusalSide::kTheirsTooLow;
  int expected = 0;  // >= 1
  int received = 0;  // 0: not stated
};

// A QuickFIX session event (FIX::Log::onEvent) that refuses the broker's sequence number.
std::optional<ParsedRefusal> parse_refusal_event(std::string_view event_text);

// The Text (58) of a Logout the broker sent us, when it refuses our sequence number.
std::optional<ParsedRefusal> parse_refusal_logout(std::string_view logout_text);

}  // namespace brokergw::adapters::fix
