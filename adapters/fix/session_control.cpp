// SessionControl (session_control.h): the control thread, the refusal backoff and the
// operator's sequence changes.
#include "adapters/fix/session_control.h"

#include <algorithm>
#include <utility>

#include <spdlog/spdlog.h>

namespace brokergw::adapters::fix {
namespace {

constexpr std::chrono::milliseconds kFirstBackoff{1000};
constexpr std::chrono::milliseconds kMaxBackoff{60000};

core::TimestampUs wall_now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string describe(const SessionSequence& s) {
  return "next_sender " + std::to_string(s.next_sender) + ", next_target " +
         std::to_string(s.next_target);
}

}  // namespace

SequenceRefusal make_refusal(const ParsedRefusal& parsed, std::string masked_text,
                             core::TimestampUs now_us, int our_last_seq) {
  SequenceRefusal r;
  r.ours_too_low = parsed.side == RefusalSide::kOursTooLow;
  r.expected = parsed.expected;
  r.received = parsed.received;
  if (r.ours_too_low && r.received == 0 && our_last_seq > 0) r.received = our_last_seq;
  r.at_us = now_us;
  r.text = std::move(masked_text);
  return r;
}

std::chrono::milliseconds refusal_backoff(int consecutive_refusals) {
  if (consecutive_refusals <= 1) return kFirstBackoff;
  const int doublings = std::min(consecutive_refusals - 1, 16);
  return std::min<std::chrono::milliseconds>(kFirstBackoff * (1LL << doublings), kMaxBackoff);
}

SessionControl::SessionControl(std::string broker, std::string session_id, store::Store& store,
                               Hooks hooks)
    : broker_(std::move(broker)),
      session_id_(std::move(session_id)),
      store_(store),
      hooks_(std::move(hooks)) {}

SessionControl::~SessionControl() { stop(); }

void SessionControl::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void SessionControl::stop() {
  std::deque<std::shared_ptr<Job>> abandoned;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    abandoned.swap(jobs_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& job : abandoned) {
    job->done.set_value(tl::unexpected(std::string("the gateway is stopping; nothing changed")));
  }
}

void SessionControl::on_refused(const SequenceRefusal& refusal) {
  spdlog::error(
      "broker {}: logon refused for sequence numbers: {} MsgSeqNum too low, expected {}, "
      "received {} ({}); see docs/RECOVERY.md, \"The broker reset its sequence numbers\"",
      broker_, refusal.ours_too_low ? "our" : "the broker's", refusal.expected, refusal.received,
      refusal.text);
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    // A logon that lasted was a working session: this refusal starts a new series.
    if (logon_seen_ && now - logon_at_ >= kStableLogon) consecutive_ = 0;
    logon_seen_ = false;
    ++consecutive_;
    ++refusals_total_;
    last_refusal_ = refusal;
    const auto wait = refusal_backoff(consecutive_);
    backoff_ms_ = wait.count();
    next_attempt_us_ = refusal.at_us + backoff_ms_ * 1000;
    restart_pending_ = true;
  }
  cv_.notify_all();
}

void SessionControl::on_logon() {
  std::lock_guard lock(mu_);
  logon_seen_ = true;
  logon_at_ = std::chrono::steady_clock::now();
  last_refusal_.reset();
  next_attempt_us_ = 0;
}

SessionControlStatus SessionControl::status() const {
  SessionControlStatus st;
  st.supported = true;
  st.logged_on = hooks_.logged_on();
  if (auto live = hooks_.live_sequence()) {
    st.current = *live;
  } else if (auto stored = stored_sequence(nullptr)) {
    st.current = *stored;
  }
  std::lock_guard lock(mu_);
  st.last_refusal = last_refusal_;
  st.refusals_total = refusals_total_;
  st.consecutive_refusals = consecutive_;
  st.reconnect_backoff_ms = last_refusal_ ? backoff_ms_ : 0;
  st.next_attempt_us = initiator_stopped_ || restart_pending_ ? next_attempt_us_ : 0;
  return st;
}

tl::expected<SequenceChange, std::string> SessionControl::change(const SequenceRequest& request,
                                                                 const SequenceAudit& audit) {
  if (!request.reset && !request.next_sender && !request.next_target) {
    return tl::unexpected(std::string("nothing to change: give next_sender and/or next_target"));
  }
  if ((request.next_sender && *request.next_sender < 1) ||
      (request.next_target && *request.next_target < 1)) {
    return tl::unexpected(std::string("sequence numbers must be at least 1"));
  }
  auto job = std::make_shared<Job>();
  job->request = request;
  job->audit = audit;
  auto result = job->done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_ || !thread_.joinable()) {
      return tl::unexpected(std::string("the session is not running; nothing changed"));
    }
    if (jobs_.size() >= kMaxJobs) {
      return tl::unexpected(std::string("other changes are in progress; nothing changed"));
    }
    jobs_.push_back(job);
  }
  cv_.notify_all();
  return result.get();
}

std::optional<SessionSequence> SessionControl::stored_sequence(std::string* error) const {
  std::optional<SessionSequence> out;
  store::Status s = store_.read([&](store::ReadTxn& txn) -> store::Status {
    auto st = txn.get_session(session_id_);
    if (!st) return tl::unexpected(st.error());
    out = SessionSequence{st->next_sender, st->next_target};
    return {};
  });
  if (!s && error) *error = s.error().detail;
  return out;
}

void SessionControl::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || restart_pending_ || !jobs_.empty(); });
    if (stopping_) break;
    if (!jobs_.empty()) {
      std::shared_ptr<Job> job = jobs_.front();
      jobs_.pop_front();
      lock.unlock();
      auto result = apply(job->request, job->audit);
      lock.lock();
      job->done.set_value(std::move(result));
      continue;
    }
    // A refusal: no logon until the backoff has passed.
    restart_pending_ = false;
    const std::int64_t wait_ms = backoff_ms_;
    const int attempt = consecutive_;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    lock.unlock();
    hooks_.stop_initiator();
    spdlog::warn(
        "broker {}: logon refused for sequence numbers ({} in a row); next logon in {} ms "
        "(reconnect backoff)",
        broker_, attempt, wait_ms);
    lock.lock();
    initiator_stopped_ = true;
    cv_.wait_until(lock, until, [&] { return stopping_ || !jobs_.empty(); });
    if (stopping_) break;
    if (!jobs_.empty()) continue;  // the change starts the session itself
    initiator_stopped_ = false;
    next_attempt_us_ = 0;
    lock.unlock();
    spdlog::info("broker {}: logging on again after a {} ms reconnect backoff", broker_, wait_ms);
    hooks_.start_initiator();
    lock.lock();
  }
}

tl::expected<SequenceChange, std::string> SessionControl::apply(const SequenceRequest& request,
                                                                const SequenceAudit& audit) {
  // No session may write the numbers while they change: log out and destroy the session (its
  // store writes the exact next sender number when it is destroyed).
  hooks_.stop_initiator();
  const core::TimestampUs now = wall_now_us();
  auto changed = store_.write_and_wait<SequenceChange>(
      [&](store::WriteTxn& txn, std::optional<SequenceChange>& out) -> store::Status {
        auto current = txn.get_session(session_id_);
        if (!current) return tl::unexpected(current.error());
        SequenceChange c;
        c.before = {current->next_sender, current->next_target};
        if (request.reset) {
          c.after = {1, 1};
          if (auto s = txn.reset_session(session_id_, now); !s) return s;
        } else {
          c.after = {request.next_sender.value_or(c.before.next_sender),
                     request.next_target.value_or(c.before.next_target)};
          store::SessionState next = *current;
          next.next_sender = c.after.next_sender;
          next.next_target = c.after.next_target;
          if (auto s = txn.put_session(session_id_, next); !s) return s;
        }
        if (audit) {
          if (auto s = audit(txn, c); !s) return s;
        }
        out = c;
        return {};
      });
  if (changed) {
    spdlog::warn("broker {}: sequence numbers {} by the operator: {} -> {}", broker_,
                 request.reset ? "reset" : "set", describe(changed->before),
                 describe(changed->after));
  } else {
    spdlog::error("broker {}: sequence change failed, nothing changed: {}", broker_,
                  changed.error().detail);
  }
  {
    // Before the new session starts: a refusal of it must start a new series, not be erased.
    std::lock_guard lock(mu_);
    restart_pending_ = false;
    initiator_stopped_ = false;
    next_attempt_us_ = 0;
    if (changed) {
      consecutive_ = 0;
      backoff_ms_ = 0;
      last_refusal_.reset();
    }
  }
  hooks_.start_initiator();
  if (!changed) {
    return tl::unexpected("the store refused the change (" + changed.error().detail +
                          "); nothing changed");
  }
  return *changed;
}

}  // namespace brokergw::adapters::fix
