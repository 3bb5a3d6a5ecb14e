#include "gateway/service/tracker.h"

namespace brokergw::service {

bool WaitTracker::update(const core::Order& order, std::uint64_t version, bool attention,
                         core::TimestampUs now) {
  const std::string& id = order.request.client_order_id;
  const bool unknown = order.state == core::OrderState::kUnknownAtBroker;
  const bool missing = core::fills_missing(order);
  std::lock_guard lock(mu_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.version > version) return false;  // stale update
  const bool was_unknown = it != entries_.end() && it->second.unknown;
  if (!unknown && !missing && !order.unverified) {
    if (it == entries_.end()) return false;
    entries_.erase(it);
    return was_unknown;
  }
  if (it == entries_.end()) it = entries_.emplace(id, Entry{.broker = order.request.broker}).first;
  Entry& e = it->second;
  if (unknown && !was_unknown) {
    // Since when it is unknown: its last transition (kept across restarts), else now.
    e.unknown_since_us = now;
    if (!order.history.empty() &&
        order.history.back().state == core::OrderState::kUnknownAtBroker) {
      e.unknown_since_us = order.history.back().at_us;
    }
  }
  e.unknown = unknown;
  e.attention = unknown && attention;
  e.fills_missing = missing;
  e.unverified = order.unverified;
  e.version = version;
  return was_unknown && !unknown;
}

WaitTracker::BrokerView WaitTracker::view(const std::string& broker, std::size_t limit) const {
  BrokerView v;
  std::lock_guard lock(mu_);
  for (const auto& [id, e] : entries_) {
    if (e.broker != broker) continue;
    v.fills_missing += e.fills_missing;
    v.unverified += e.unverified;
    if (!e.unknown) continue;
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
