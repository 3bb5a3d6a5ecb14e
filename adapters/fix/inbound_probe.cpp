#include "adapters/fix/inbound_probe.h"

#include <algorithm>

namespace brokergw::adapters::fix {

std::optional<std::string> InboundProbe::begin(core::TimestampUs now_us) {
  std::lock_guard lock(mu_);
  for (const auto& [id, sent_us] : outstanding_) {
    if (sent_us <= now_us && now_us - sent_us < kRetryUs) return std::nullopt;
  }
  while (outstanding_.size() >= kMaxOutstanding) {
    auto oldest =
        std::min_element(outstanding_.begin(), outstanding_.end(),
                         [](const auto& a, const auto& b) { return a.second < b.second; });
    outstanding_.erase(oldest);
  }
  std::string id =
      std::string(kIdPrefix) + std::to_string(now_us) + "-" + std::to_string(next_number_++);
  outstanding_.emplace(id, now_us);
  return id;
}

void InboundProbe::abandon(const std::string& test_req_id) {
  std::lock_guard lock(mu_);
  outstanding_.erase(test_req_id);
}

std::optional<core::TimestampUs> InboundProbe::answered(std::string_view test_req_id) {
  if (!test_req_id.starts_with(kIdPrefix)) return std::nullopt;
  core::TimestampUs sent_us = 0;
  {
    std::lock_guard lock(mu_);
    auto it = outstanding_.find(test_req_id);
    if (it == outstanding_.end()) return std::nullopt;
    sent_us = it->second;
    // Older ones prove less than this one; their answers (if any) change nothing.
    std::erase_if(outstanding_, [sent_us](const auto& entry) { return entry.second <= sent_us; });
  }
  core::TimestampUs seen = read_up_to_us_.load();
  while (seen < sent_us && !read_up_to_us_.compare_exchange_weak(seen, sent_us)) {
  }
  return sent_us;
}

void InboundProbe::reset() {
  std::lock_guard lock(mu_);
  outstanding_.clear();
}

std::size_t InboundProbe::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_.size();
}

}  // namespace brokergw::adapters::fix
