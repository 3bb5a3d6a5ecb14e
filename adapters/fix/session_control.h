// Session control for one FIX broker: the reconnect backoff after a sequence refusal and the
// operator's sequence changes (adapter.h, "Session control"). No QuickFIX header: the adapter
// hands in what it can do to its initiator as two hooks.
//
// Why the initiator is stopped and started again: QuickFIX 1.15.1 reconnects every
// ReconnectInterval (fixed), and its only other switch, Session::logout()/logon(), writes a
// plain bool that the initiator thread reads without a lock. Stopping the initiator
// (Initiator::stop joins its thread) and creating a new one later is QuickFIX's thread-safe
// lifecycle; the new session loads its numbers from the store, so a change made while no
// session exists is simply what the next one reads.
//
// Threads: one control thread per broker (start() .. stop()) runs the hooks, the backoff waits
// and the changes, one at a time. on_refused/on_logon run on QuickFIX's session thread (they
// only record and wake); change() and status() run on any thread (change() blocks until the
// control thread has done it, bounded by the logout wait and one synced commit).
//
// Invariants: the initiator is created and destroyed only by the control thread (and before
// start()/after stop() by the owner); after a refusal the next logon waits refusal_backoff(n)
// for the n-th refusal in a row (1 s doubling, at most 60 s); a logon that lasts
// kStableLogon, or an operator's change, starts the count again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "adapters/adapter.h"
#include "adapters/fix/sequence_refusal.h"
#include "store/store.h"

namespace brokergw::adapters::fix {

// The wait before the next logon after the n-th refused logon in a row (n >= 1):
// 1 s, 2 s, 4 s, ... capped at 60 s. Pure.
std::chrono::milliseconds refusal_backoff(int consecutive_refusals);

// The refusal as reported (adapter.h). our_last_seq: the MsgSeqNum we sent last, used as
// `received` when the broker's Logout does not say which number it refused.
SequenceRefusal make_refusal(const ParsedRefusal& parsed, std::string masked_text,
                             core::TimestampUs now_us, int our_last_seq);

class SessionControl {
 public:
  struct Hooks {
    std::function<void()> start_initiator;  // creates and starts it (connects at once)
    std::function<void()> stop_initiator;   // logs out (bounded wait), stops and destroys it
    std::function<bool()> logged_on;
    // The live numbers while a session exists, else nullopt (then the store's are current).
    std::function<std::optional<SessionSequence>()> live_sequence;
  };
  static constexpr std::chrono::seconds kStableLogon{30};

  SessionControl(std::string broker, std::string session_id, store::Store& store, Hooks hooks);
  ~SessionControl();

  void start();
  void stop();  // joins the control thread; the initiator is left as it is

  // Session thread. on_refused logs the refusal (error) and asks the control thread to stop
  // the initiator and start it again after the backoff.
  void on_refused(const SequenceRefusal& refusal);
  void on_logon();

  SessionControlStatus status() const;
  tl::expected<SequenceChange, std::string> change(const SequenceRequest& request,
                                                   const SequenceAudit& audit);

 private:
  struct Job {
    SequenceRequest request;
    SequenceAudit audit;
    std::promise<tl::expected<SequenceChange, std::string>> done;
  };
  void run();
  tl::expected<SequenceChange, std::string> apply(const SequenceRequest& request,
                                                  const SequenceAudit& audit);
  std::optional<SessionSequence> stored_sequence(std::string* error) const;

  const std::string broker_;
  const std::string session_id_;
  store::Store& store_;
  Hooks hooks_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                             // guarded by mu_
  bool restart_pending_ = false;                      // guarded by mu_: a refusal wants a backoff
  bool initiator_stopped_ = false;                    // guarded by mu_: waiting out a backoff
  std::deque<std::shared_ptr<Job>> jobs_;             // guarded by mu_; at most kMaxJobs
  std::optional<SequenceRefusal> last_refusal_;       // guarded by mu_
  std::uint64_t refusals_total_ = 0;                  // guarded by mu_
  int consecutive_ = 0;                               // guarded by mu_
  std::int64_t backoff_ms_ = 0;                       // guarded by mu_
  core::TimestampUs next_attempt_us_ = 0;             // guarded by mu_
  std::chrono::steady_clock::time_point logon_at_{};  // guarded by mu_
  bool logon_seen_ = false;                           // guarded by mu_
  static constexpr std::size_t kMaxJobs = 4;
};

}  // namespace brokergw::adapters::fix
