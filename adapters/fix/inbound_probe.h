// The FIX adapter's "no false silence" proof (BrokerAdapter::inbound_read_up_to_us): which
// TestRequests (35=1) of ours are outstanding, and the time up to which the broker's stream is
// proven read. Owns only that bookkeeping; sending the TestRequest and seeing the Heartbeat are
// the adapter's (fix_adapter.cpp).
//
// Why it proves anything: QuickFIX hands inbound messages to fromApp/fromAdmin one at a time,
// in MsgSeqNum order, on its one session thread (a Heartbeat with a too-high MsgSeqNum waits in
// QuickFIX's queue until the gap is filled, like any message), and the listener's on_report
// returns only once the report is durable. The broker answers our TestRequest, sent at t, with a
// Heartbeat carrying its TestReqID after everything it had sent before it read the TestRequest;
// so when fromAdmin sees that Heartbeat, everything the broker sent before t has been applied.
//
// Threads: begin() and abandon() run on the caller of probe_inbound (the gateway's scheduler);
// answered() and reset() on QuickFIX's session thread; read_up_to_us() on any thread. All are
// thread-safe (one mutex for the outstanding set, an atomic for the result).
//
// Invariants: read_up_to_us() never decreases; it only ever takes the send time of a TestRequest
// of ours that was outstanding (begun, not reset or abandoned since) when its Heartbeat arrived;
// TestReqIDs that are not ours (QuickFIX's own "TEST", the broker's) never change anything; at
// most kMaxOutstanding TestRequests are outstanding, and a new one is begun only when none
// younger than kRetryUs is outstanding.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/order.h"

namespace brokergw::adapters::fix {

class InboundProbe {
 public:
  // An unanswered TestRequest younger than this blocks a new one.
  static constexpr core::TimestampUs kRetryUs = 1'000'000;
  static constexpr std::size_t kMaxOutstanding = 16;
  // Every TestReqID of ours starts with this ("bgw-<sent_us>-<n>").
  static constexpr std::string_view kIdPrefix = "bgw-";

  // The TestReqID to send now (recorded as sent at `now_us`), or nullopt when one of ours is
  // outstanding and younger than kRetryUs. A send time in the future (the clock went back)
  // counts as stale.
  std::optional<std::string> begin(core::TimestampUs now_us);
  // The TestRequest could not be sent: it will not be answered.
  void abandon(const std::string& test_req_id);
  // A Heartbeat with this TestReqID has reached fromAdmin. When it answers an outstanding
  // TestRequest of ours, read_up_to_us advances to that TestRequest's send time (never back)
  // and it and every older one stop being outstanding; returns that send time. Otherwise
  // nullopt and nothing changes.
  std::optional<core::TimestampUs> answered(std::string_view test_req_id);
  // Logon or logout: a TestRequest of an earlier connection is never answered in a new one.
  // read_up_to_us keeps its value (what was proven stays proven).
  void reset();

  core::TimestampUs read_up_to_us() const { return read_up_to_us_.load(); }
  std::size_t outstanding() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, core::TimestampUs, std::less<>> outstanding_;  // id -> sent at; mu_
  std::uint64_t next_number_ = 1;                                      // mu_
  std::atomic<core::TimestampUs> read_up_to_us_{0};
};

}  // namespace brokergw::adapters::fix
