#include "adapters/fix/lmdb_message_store.h"

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <quickfix/FileStore.h>
#include <spdlog/spdlog.h>

#include "adapters/fix/masking_store.h"

namespace brokergw::adapters::fix {
namespace {

using store::ReadTxn;
using store::SessionState;
using store::Status;
using store::StoreErrc;
using store::StoreError;
using store::WriteTxn;

// Old messages trimmed per stored message: more than one, so a jump of the sequence number
// (setNextSenderMsgSeqNum) is caught up with after a few writes.
constexpr std::size_t kTrimPerWrite = 4;
// A getCreationTime() answer this close after UTC midnight may have failed QuickFIX's date
// comparison (see the header); reset() is refused for kMidnightHoldUs after such an answer.
constexpr core::TimestampUs kMidnightGuardUs = 5'000'000;
// Sender sequence numbers are reserved durably in blocks: one synced commit per block instead
// of one per outgoing message. After a crash the session resumes at the end of the block; the
// broker sees a gap, asks for a resend, and gets a gap fill (nothing is replayed).
constexpr int kSenderBlock = 1024;
constexpr core::TimestampUs kMidnightHoldUs = 60'000'000;
constexpr core::TimestampUs kDayUs = 86'400'000'000;

core::TimestampUs now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

FIX::UtcTimeStamp to_utc(core::TimestampUs us) {
  auto seconds = static_cast<time_t>(us / 1'000'000);
  auto micros = static_cast<int>(us % 1'000'000);
  if (micros < 0) {
    seconds -= 1;
    micros += 1'000'000;
  }
  return FIX::UtcTimeStamp(seconds, micros, 6);
}

core::TimestampUs from_utc(const FIX::UtcTimeStamp& t) {
  return static_cast<core::TimestampUs>(t.getTimeT()) * 1'000'000 + t.getMicroecond();
}

// Queued (not waited) writes of one session: how many are outstanding, and the first failure
// not yet reported. Shared with the completions, which run on the committer thread and may
// outlive nothing: the store waits for them before it is destroyed.
struct QueuedWrites {
  std::mutex mu;
  std::condition_variable cv;
  std::size_t pending = 0;            // guarded by mu
  std::optional<StoreError> failure;  // guarded by mu
};

class LmdbMessageStore final : public FIX::MessageStore {
 public:
  LmdbMessageStore(store::Store& store, std::string session_id, SessionState state,
                   LmdbMessageStoreOptions options)
      : store_(store),
        session_id_(std::move(session_id)),
        options_(options),
        state_(state),
        reserved_sender_(state.next_sender),
        queued_(std::make_shared<QueuedWrites>()) {}

  // A clean stop stores the exact next sender number, so a graceful restart shows no gap.
  ~LmdbMessageStore() override {
    std::lock_guard lock(mu_);
    wait_for_queued();
    if (reserved_sender_ == state_.next_sender) return;
    Status s = store_.write_and_wait([id = session_id_, st = state_](WriteTxn& txn) -> Status {
      return txn.put_session(id, st);
    });
    if (!s) {
      spdlog::error(
          "fix {}: cannot store the exact sender sequence at stop ({}); the next logon "
          "starts at the reserved {}",
          session_id_, s.error().detail, reserved_sender_);
    }
  }

  bool set(int seq, const std::string& msg) throw(FIX::IOException) override {
    std::string stored = strip_secrets_for_storage(msg);
    if (stored.empty() && !msg.empty()) {
      spdlog::error("fix {}: message {} carries a secret and does not parse; not stored",
                    session_id_, seq);
      return false;
    }
    std::lock_guard lock(mu_);
    const auto retain = static_cast<std::int64_t>(options_.retain_messages);
    queue([id = session_id_, seq, stored = std::move(stored), retain](WriteTxn& txn) -> Status {
      if (Status s = txn.put_session_message(id, seq, stored); !s) return s;
      if (retain > 0 && seq > retain) {
        auto trimmed = txn.trim_session_messages(id, static_cast<int>(seq - retain), kTrimPerWrite);
        if (!trimmed) return tl::unexpected(trimmed.error());
      }
      return {};
    });
    return true;
  }

  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    wait_for_queued();
    out.clear();
    Status s = store_.read([&](ReadTxn& txn) -> Status {
      auto messages = txn.get_session_messages(session_id_, begin, end);
      if (!messages) return tl::unexpected(messages.error());
      out = std::move(*messages);
      return {};
    });
    if (!s) fail("get messages " + std::to_string(begin) + ".." + std::to_string(end), s.error());
  }

  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    return state_.next_sender;
  }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    return state_.next_target;
  }

  void setNextSenderMsgSeqNum(int value) throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    SessionState next = state_;
    next.next_sender = value;
    write_state("setNextSenderMsgSeqNum", next, value);
  }
  void setNextTargetMsgSeqNum(int value) throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    SessionState next = state_;
    next.next_target = value;
    write_state("setNextTargetMsgSeqNum", next, reserved_sender_);
  }
  // Waits only when the durably reserved block of sender numbers runs out (see the header).
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    SessionState next = state_;
    ++next.next_sender;
    if (next.next_sender > reserved_sender_) {
      write_state("incrNextSenderMsgSeqNum", next, next.next_sender + kSenderBlock);
      return;
    }
    if (std::optional<StoreError> earlier = take_queued_failure()) {
      fail("incrNextSenderMsgSeqNum (an earlier queued write failed)", *earlier);
    }
    state_ = next;
  }
  // Queued, not waited: see the header.
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    ++state_.next_target;
    queue([id = session_id_, st = persisted(state_, reserved_sender_)](WriteTxn& txn) {
      return txn.put_session(id, st);
    });
  }

  // The current time, not the stored creation time: see the header ("Session window").
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    if (options_.daily_schedule) {
      std::lock_guard lock(mu_);
      return to_utc(state_.creation_us);
    }
    const core::TimestampUs now = now_us();
    if (now % kDayUs < kMidnightGuardUs) {
      std::lock_guard lock(mu_);
      midnight_guard_until_us_ = now + kMidnightHoldUs;
    }
    return to_utc(now);
  }

  void reset() throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    const core::TimestampUs now = now_us();
    if (now < midnight_guard_until_us_) {
      spdlog::error(
          "fix {}: sequence reset refused: QuickFIX's daily session check may have failed at "
          "UTC midnight, and this session never resets implicitly (next sender {}, target {})",
          session_id_, state_.next_sender, state_.next_target);
      return;
    }
    wait_for_queued();
    Status s = store_.write_and_wait(
        [id = session_id_, now](WriteTxn& txn) -> Status { return txn.reset_session(id, now); });
    if (!s) fail("reset", s.error());
    spdlog::warn("fix {}: sequence numbers reset to 1/1 (were sender {}, target {})", session_id_,
                 state_.next_sender, state_.next_target);
    state_ = SessionState{1, 1, now};
    reserved_sender_ = 1;
  }

  void refresh() throw(FIX::IOException) override {
    std::lock_guard lock(mu_);
    wait_for_queued();
    std::optional<SessionState> loaded;
    Status s = store_.read([&](ReadTxn& txn) -> Status {
      auto st = txn.get_session(session_id_);
      if (!st) return tl::unexpected(st.error());
      loaded = *st;
      return {};
    });
    if (!s) fail("refresh", s.error());
    state_ = *loaded;
    reserved_sender_ = state_.next_sender;
  }

 private:
  // What the store holds: the sender number is the reserved bound, never below the true one.
  static SessionState persisted(SessionState st, int reserved_sender) {
    st.next_sender = reserved_sender;
    return st;
  }

  // Caller holds mu_. Writes `next` durably (with `reserved_sender` as the stored sender
  // number), then adopts both. Any failure (this write, or a queued one before it) throws and
  // leaves the numbers in memory unchanged, so QuickFIX does not send the message this
  // sequence number was for.
  void write_state(const char* what, const SessionState& next, int reserved_sender) {
    Status s =
        store_.write_and_wait([id = session_id_, st = persisted(next, reserved_sender)](
                                  WriteTxn& txn) -> Status { return txn.put_session(id, st); });
    if (!s) fail(what, s.error());
    if (std::optional<StoreError> earlier = take_queued_failure()) {
      fail(std::string(what) + " (an earlier queued write failed)", *earlier);
    }
    state_ = next;
    reserved_sender_ = reserved_sender;
  }

  // Caller holds mu_ (so queued writes carry the state in call order).
  void queue(store::Store::WriteFn fn) {
    std::shared_ptr<QueuedWrites> q = queued_;
    {
      std::lock_guard lock(q->mu);
      ++q->pending;
    }
    store_.submit(std::move(fn), [q, id = session_id_](Status s) {
      std::lock_guard lock(q->mu);
      if (!s) {
        spdlog::critical("fix {}: store write failed: {}", id, s.error().detail);
        if (!q->failure) q->failure = s.error();
      }
      --q->pending;
      q->cv.notify_all();
    });
  }

  void wait_for_queued() const {
    std::unique_lock lock(queued_->mu);
    queued_->cv.wait(lock, [this] { return queued_->pending == 0; });
  }

  std::optional<StoreError> take_queued_failure() {
    std::lock_guard lock(queued_->mu);
    return std::exchange(queued_->failure, std::nullopt);
  }

  [[noreturn]] void fail(const std::string& what, const StoreError& e) const {
    spdlog::critical("fix {}: {} failed: {} ({})", session_id_, what, e.detail,
                     store::to_string(e.code));
    throw FIX::IOException(session_id_ + ": " + what + ": " + e.detail);
  }

  store::Store& store_;
  const std::string session_id_;
  const LmdbMessageStoreOptions options_;
  mutable std::mutex mu_;
  SessionState state_;   // guarded by mu_
  int reserved_sender_;  // guarded by mu_; the stored next sender number, >= state_.next_sender
  mutable core::TimestampUs midnight_guard_until_us_ = 0;  // guarded by mu_
  std::shared_ptr<QueuedWrites> queued_;
};

}  // namespace

FIX::MessageStore* LmdbMessageStoreFactory::create(const FIX::SessionID& session) {
  const std::string id = session.toString();
  std::optional<SessionState> state;
  Status s = store_.read([&](ReadTxn& txn) -> Status {
    auto st = txn.get_session(id);
    if (st) {
      state = *st;
    } else if (st.error().code != StoreErrc::kNotFound) {
      return tl::unexpected(st.error());
    }
    return {};
  });
  if (s && !state) {
    // A new session. Stored at once (and durably) so its creation time survives a restart.
    auto created = store_.write_and_wait<SessionState>(
        [id](WriteTxn& txn, std::optional<SessionState>& out) -> Status {
          auto existing = txn.get_session(id);
          if (existing) {
            out = *existing;
            return {};
          }
          if (existing.error().code != StoreErrc::kNotFound) {
            return tl::unexpected(existing.error());
          }
          SessionState fresh{1, 1, now_us()};
          if (Status put = txn.put_session(id, fresh); !put) return put;
          out = fresh;
          return {};
        });
    if (created) {
      state = *created;
      spdlog::info("fix {}: new session in the store, sequence numbers 1/1", id);
    } else {
      s = tl::unexpected(created.error());
    }
  }
  if (!s) {
    spdlog::critical("fix {}: cannot load the session from the store: {}", id, s.error().detail);
    throw FIX::ConfigError(id + ": cannot load the session from the store: " + s.error().detail);
  }
  spdlog::info("fix {}: session loaded, next sender {}, next target {}", id, state->next_sender,
               state->next_target);
  return new LmdbMessageStore(store_, id, *state, options_);
}

void LmdbMessageStoreFactory::destroy(FIX::MessageStore* message_store) { delete message_store; }

tl::expected<bool, std::string> import_file_store(store::Store& store, const std::string& directory,
                                                  const FIX::SessionID& session) {
  const std::string id = session.toString();
  std::string prefix = session.getBeginString().getString() + "-" +
                       session.getSenderCompID().getString() + "-" +
                       session.getTargetCompID().getString();
  if (!session.getSessionQualifier().empty()) prefix += "-" + session.getSessionQualifier();
  const std::filesystem::path seqnums = std::filesystem::path(directory) / (prefix + ".seqnums");
  std::error_code ec;
  if (!std::filesystem::exists(seqnums, ec)) return false;

  bool stored = false;
  Status s = store.read([&](ReadTxn& txn) -> Status {
    auto st = txn.get_session(id);
    if (st) stored = true;
    if (!st && st.error().code != StoreErrc::kNotFound) return tl::unexpected(st.error());
    return {};
  });
  if (!s) return tl::unexpected(id + ": " + s.error().detail);
  if (stored) return false;

  SessionState legacy;
  try {
    FIX::FileStore files(directory, session);
    legacy.next_sender = files.getNextSenderMsgSeqNum();
    legacy.next_target = files.getNextTargetMsgSeqNum();
    legacy.creation_us = from_utc(files.getCreationTime());
  } catch (const std::exception& e) {
    return tl::unexpected(id + ": cannot read the FileStore in " + directory + ": " + e.what());
  }
  auto imported =
      store.write_and_wait<bool>([id, legacy](WriteTxn& txn, std::optional<bool>& out) -> Status {
        auto existing = txn.get_session(id);
        if (existing) {
          out = false;  // created meanwhile: the store wins
          return {};
        }
        if (existing.error().code != StoreErrc::kNotFound) {
          return tl::unexpected(existing.error());
        }
        if (Status put = txn.put_session(id, legacy); !put) return put;
        out = true;
        return {};
      });
  if (!imported) return tl::unexpected(id + ": " + imported.error().detail);
  if (*imported) {
    spdlog::warn(
        "fix {}: sequence numbers imported from the FileStore in {} (next sender {}, next target "
        "{}); those files are no longer used",
        id, directory, legacy.next_sender, legacy.next_target);
  }
  return *imported;
}

}  // namespace brokergw::adapters::fix
