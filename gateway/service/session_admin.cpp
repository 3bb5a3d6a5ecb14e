// SessionAdmin (session_admin.h): refusal journaling and operator sequence changes.
#include "gateway/service/session_admin.h"

#include <spdlog/spdlog.h>

#include "gateway/events/session_events.h"
#include "gateway/service/context.h"
#include "gateway/service/lane.h"

namespace brokergw::service {

void SessionAdmin::on_refused(std::string_view broker, const adapters::SequenceRefusal& refusal) {
  refusals_total_++;
  {
    std::lock_guard lock(mu_);
    auto it = journaled_.find(broker);
    // The broker's number moves with every attempt (each Logon it answers counts); what we
    // expect (or it expects) stays: that is the same wedge again.
    const std::pair<int, int> numbers{refusal.ours_too_low ? 1 : 0, refusal.expected};
    if (it != journaled_.end() && it->second == numbers) return;
    journaled_.insert_or_assign(std::string(broker), numbers);
  }
  // Queued, not waited: this runs on the session thread, under QuickFIX's session lock.
  store::StoredEvent ev = events::render_sequence_refused(broker, refusal, shared_.clock());
  auto seq = std::make_shared<std::uint64_t>(0);
  Shared& shared = shared_;
  shared_.store.submit(
      [ev, seq](store::WriteTxn& txn) -> store::Status {
        auto appended = txn.append_event(ev);
        if (!appended) return tl::unexpected(appended.error());
        *seq = *appended;
        return {};
      },
      [&shared, seq, b = std::string(broker)](store::Status s) {
        if (!s) {
          spdlog::error("broker {}: cannot journal session.sequence_refused: {}", b,
                        s.error().detail);
          return;
        }
        shared.metrics.events_appended++;
        shared.notifier.advance(*seq);
      });
}

void SessionAdmin::on_logon(std::string_view broker) {
  std::lock_guard lock(mu_);
  if (auto it = journaled_.find(broker); it != journaled_.end()) journaled_.erase(it);
}

tl::expected<SessionView, SessionError> SessionAdmin::show(std::string_view broker) const {
  const Lane* lane = shared_.lane_for(broker);
  if (!lane) {
    return tl::unexpected(SessionError{SessionErrc::kUnknownBroker, "broker",
                                       "no broker named \"" + std::string(broker) + "\""});
  }
  adapters::SessionControlStatus st = lane->adapter().session_control();
  if (!st.supported) {
    return tl::unexpected(
        SessionError{SessionErrc::kUnsupported, "broker",
                     "broker " + std::string(broker) + " has no sequence numbers to show"});
  }
  return SessionView{std::string(broker), std::move(st)};
}

std::vector<SessionView> SessionAdmin::all() const {
  std::vector<SessionView> out;
  for (const auto& [name, lane] : shared_.lanes) {
    adapters::SessionControlStatus st = lane->adapter().session_control();
    if (st.supported) out.push_back({name, std::move(st)});
  }
  return out;
}

tl::expected<adapters::SequenceChange, SessionError> SessionAdmin::change(
    std::string_view broker, const adapters::SequenceRequest& request) {
  Lane* lane = shared_.lane_for(broker);
  if (!lane) {
    return tl::unexpected(SessionError{SessionErrc::kUnknownBroker, "broker",
                                       "no broker named \"" + std::string(broker) + "\""});
  }
  if (!lane->adapter().session_control().supported) {
    return tl::unexpected(
        SessionError{SessionErrc::kUnsupported, "broker",
                     "broker " + std::string(broker) + " has no sequence numbers to change"});
  }
  if (!request.reset && !request.next_sender && !request.next_target) {
    return tl::unexpected(SessionError{SessionErrc::kInvalid, "next_sender",
                                       "give next_sender and/or next_target (or reset)"});
  }
  if (request.next_sender && *request.next_sender < 1) {
    return tl::unexpected(
        SessionError{SessionErrc::kInvalid, "next_sender", "next_sender must be at least 1"});
  }
  if (request.next_target && *request.next_target < 1) {
    return tl::unexpected(
        SessionError{SessionErrc::kInvalid, "next_target", "next_target must be at least 1"});
  }
  const core::TimestampUs now = shared_.clock();
  auto seq = std::make_shared<std::uint64_t>(0);
  const std::string name(broker);
  auto changed = lane->adapter().change_sequence(
      request,
      [name, reset = request.reset, now, seq](store::WriteTxn& txn,
                                              const adapters::SequenceChange& c) -> store::Status {
        auto appended = txn.append_event(events::render_sequence_change(name, reset, c, now));
        if (!appended) return tl::unexpected(appended.error());
        *seq = *appended;
        return {};
      });
  if (!changed) return tl::unexpected(SessionError{SessionErrc::kFailed, "", changed.error()});
  shared_.metrics.events_appended++;
  shared_.notifier.advance(*seq);
  {
    std::lock_guard lock(mu_);
    if (auto it = journaled_.find(broker); it != journaled_.end()) journaled_.erase(it);
  }
  return *changed;
}

}  // namespace brokergw::service
