#include "gateway/service/tracker.h"

namespace brokergw::service {

bool WaitTracker::update(const core::Order& order, std::uint64_t version, bool attention,
                         core::TimestampUs now) {
  const std::string& id = order.request.client_order_id;
  const bool unknown = order.state == core::OrderState::kUnknownAtBroker;
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.version > version) return false;  // stale update
  if (!unknown) {
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return true;
  }
  if (it == entries_.end()) {
    // Since when it is unknown: its last transition (kept across restarts), else now.
    core::TimestampUs since = now;
    if (!order.history.empty() &&
        order.history.back().state == core::OrderState::kUnknownAtBroker) {
      since = order.history.back().at_us;
    }
    entries_.emplace(id, Entry{order.request.broker, since, attention, version});
  } else {
    it->second.attention = attention;
    it->second.version = version;
  }
  return false;
}

WaitTracker::BrokerView WaitTracker::view(const std::string& broker, std::size_t limit) const {
  BrokerView v;
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : entries_) {
    if (e.broker != broker) continue;
    v.unknown++;
    if (v.oldest_unknown_us == 0 || e.unknown_since_us < v.oldest_unknown_us) {
      v.oldest_unknown_us = e.unknown_since_us;
    }
    if (e.attention) {
      v.attention_total++;
      if (v.attention.size() < limit) v.attention.emplace_back(id, e.unknown_since_us);
    }
  }
  return v;
}

}  // namespace brokergw::service
