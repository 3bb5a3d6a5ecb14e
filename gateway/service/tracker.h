// Which orders need an operator's eye at a broker: unknown_at_broker (with the time it went
// unknown), attention-required (out of resolution attempts), and those to reconcile (fills
// missing, unverified; final ones too). Feeds health and /metrics without scanning the store.
// Rebuilt from the store's open orders at start (a final order flagged before a restart is
// still listed by GET /v1/orders?discrepancy=..., not counted here).
//
// Threads: update() is called by whichever thread committed a decision (API, lane, adapter,
// scheduler), snapshot() by API threads; one mutex guards everything. Updates carry the
// order's stored version, so a late update from a slower thread never undoes a newer one.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/core/resolution.h"

namespace brokergw::service {

class WaitTracker {
 public:
  struct Entry {
    std::string broker;
    bool unknown = false;
    core::TimestampUs unknown_since_us = 0;
    bool attention = false;
    bool fills_missing = false;
    bool unverified = false;
    std::uint64_t version = 0;
  };
  struct BrokerView {
    std::size_t unknown = 0;
    core::TimestampUs oldest_unknown_us = 0;
    std::size_t attention_total = 0;
    std::vector<std::pair<std::string, core::TimestampUs>> attention;  // at most `limit`
    std::size_t fills_missing = 0;
    std::size_t unverified = 0;
  };

  // The order's state after a committed decision. `attention` is whether its wait is
  // Step::kAttention. Returns true when the order left unknown_at_broker (resolved).
  bool update(const core::Order& order, std::uint64_t version, bool attention,
              core::TimestampUs now);
  BrokerView view(const std::string& broker, std::size_t limit) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Entry, std::less<>> entries_;  // client_order_id ->
};

}  // namespace brokergw::service
