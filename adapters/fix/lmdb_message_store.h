// QuickFIX's MessageStore on the gateway's store (store/store.h): a FIX session's sequence
// numbers (table fix_sessions) and the messages it sent (fix_messages) live in the same LMDB
// environment as the orders, written by the same committer thread (group commit, FIFO).
//
// Owns: one LmdbMessageStore per FIX::SessionID (key: SessionID::toString()), created by the
// factory. It keeps the current sequence numbers in memory (QuickFIX reads them often) and
// writes every change through Store::submit.
//
// Threads: QuickFIX calls a MessageStore under its SessionState mutex (socket thread, timer
// thread, and the gateway's dispatcher through Session::sendToTarget); the store also takes its
// own mutex. Completions run on the store's committer thread and only touch a small tracker.
//
// Durability, per method (decision, docs/STORE.md "FIX session store"):
//  * incrNextSenderMsgSeqNum: sender numbers are reserved durably in blocks of 1024. The
//    stored next-sender number is the end of the reserved block, always >= the true one; an
//    increment waits for a synced commit only when it leaves the block. QuickFIX 1.15.1 stores
//    an outgoing message (set + incrNextSender, in Session::persist) *before* it writes the
//    bytes, so a number is always covered by a durable reservation before it is on the wire: a
//    crash, even kill -9, never makes the gateway reuse one ("MsgSeqNum too low" and a
//    logout). After a crash the session resumes at the end of the block; the broker sees a
//    gap, sends a ResendRequest and gets a gap fill. A clean stop stores the exact number.
//  * setNextSenderMsgSeqNum, setNextTargetMsgSeqNum, reset: wait until durable.
//  * set: queued, not waited (FIFO). A failed queued write makes the next increment throw,
//    so QuickFIX stops sending; a message whose store failed is gap-filled if ever requested,
//    as every application message is.
//  * incrNextTargetMsgSeqNum: queued, not waited. QuickFIX calls it after fromApp returned,
//    and fromApp journals a report in a synced commit first; FIFO puts the increment after the
//    journal. Losing it in a crash only makes the gateway ask the broker to resend (reports are
//    de-duplicated by ExecID). Waiting would cost an fsync per inbound message.
//  * get and refresh first wait for this session's queued writes (read your own writes).
//
// Secrets: set() stores messages through strip_secrets_for_storage (masking_store.h): no
// Password(554), NewPassword(925) or RawData(96) reaches the disk.
//
// Session window: QuickFIX 1.15.1 has no non-stop session. Its StartTime == EndTime schedule
// is a daily window, and Session checks it by comparing the UTC *date* of now with
// getCreationTime(): a session created yesterday is reset at start-up, and every session at
// UTC midnight. getCreationTime() therefore answers the current time, so the window check
// always passes and only reset() (below) or an operator can reset the sequence numbers. The
// real creation time stays in SessionState.creation_us. A check straddling midnight (the
// caller took its time before 00:00, this store after) can still fail; reset() refuses resets
// in the seconds after such an answer (the session reconnects and keeps its numbers).
//
// reset(): QuickFIX calls it for a counterparty Logon with ResetSeqNumFlag=Y (our own reset
// flags are all off): messages deleted, sequence numbers 1/1, a new creation time, logged.
//
// Errors: a store failure throws FIX::IOException with the store's detail (QuickFIX drops the
// message or disconnects) and is logged at critical; create() throws FIX::ConfigError.
#pragma once

#include <cstddef>
#include <string>

#include <tl/expected.hpp>

#include <quickfix/MessageStore.h>
#include <quickfix/SessionID.h>

#include "store/store.h"

namespace brokergw::adapters::fix {

struct LmdbMessageStoreOptions {
  // Sent messages kept per session; storing message n trims those below n - retain_messages
  // (a few per write, so the table stays bounded). 0 keeps every message.
  std::size_t retain_messages = 100000;
  // true for a daily session schedule (sequence_reset = "daily"): getCreationTime() answers
  // the real creation time, so QuickFIX resets the session when a new day's window starts.
  // false (the default): the non-stop behaviour described above.
  bool daily_schedule = false;
};

class LmdbMessageStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit LmdbMessageStoreFactory(store::Store& store, LmdbMessageStoreOptions options = {})
      : store_(store), options_(options) {}
  // Loads the session's state, or stores {1, 1, now} for a new session (durably).
  FIX::MessageStore* create(const FIX::SessionID& session) override;
  void destroy(FIX::MessageStore* message_store) override;

 private:
  store::Store& store_;
  LmdbMessageStoreOptions options_;
};

// One-time migration from QuickFIX's FileStore: when the store has no state for `session` and
// `directory` holds the session's FileStore files, their sequence numbers (and creation time)
// become the session's state. Returns true when it imported; false when there was nothing to
// do (the store already has the session, or no files). Messages are not imported: none of
// ours is ever resent, a missing one is gap-filled.
tl::expected<bool, std::string> import_file_store(store::Store& store, const std::string& directory,
                                                  const FIX::SessionID& session);

}  // namespace brokergw::adapters::fix
