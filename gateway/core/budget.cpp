#include "gateway/core/budget.h"

#include <algorithm>

namespace brokergw::core {

ResolutionBudget::ResolutionBudget(std::uint32_t max_per_s, std::uint32_t max_in_flight,
                                   TimestampUs expire_us)
    : max_per_s_(max_per_s),
      max_in_flight_(max_in_flight),
      expire_us_(std::max<TimestampUs>(expire_us, 1)),
      tokens_(max_per_s) {}

void ResolutionBudget::expire(TimestampUs now) {
  while (!outstanding_.empty() && now - outstanding_.front() >= expire_us_) {
    outstanding_.pop_front();
  }
}

void ResolutionBudget::refill(TimestampUs now) {
  if (max_per_s_ == 0) return;
  if (refilled_at_us_ == 0 || now < refilled_at_us_) {
    refilled_at_us_ = now;
    return;
  }
  const double add = static_cast<double>(now - refilled_at_us_) * max_per_s_ / 1e6;
  tokens_ = std::min<double>(max_per_s_, tokens_ + add);
  refilled_at_us_ = now;
}

bool ResolutionBudget::available(TimestampUs now) {
  expire(now);
  refill(now);
  if (max_in_flight_ != 0 && outstanding_.size() >= max_in_flight_) return false;
  return max_per_s_ == 0 || tokens_ >= 1.0;
}

bool ResolutionBudget::take(TimestampUs now) {
  if (!available(now)) return false;
  if (max_per_s_ != 0) tokens_ -= 1.0;
  if (max_in_flight_ != 0) outstanding_.push_back(now);
  return true;
}

void ResolutionBudget::answered() {
  if (!outstanding_.empty()) outstanding_.pop_front();
}

TimestampUs ResolutionBudget::next_available_us(TimestampUs now) {
  if (available(now)) return now;
  TimestampUs at = now;
  if (max_in_flight_ != 0 && outstanding_.size() >= max_in_flight_) {
    at = std::max(at, outstanding_.front() + expire_us_);
  }
  if (max_per_s_ != 0 && tokens_ < 1.0) {
    const auto wait = static_cast<TimestampUs>((1.0 - tokens_) * 1e6 / max_per_s_) + 1;
    at = std::max(at, now + wait);
  }
  return at;
}

std::size_t ResolutionBudget::in_flight(TimestampUs now) {
  expire(now);
  return outstanding_.size();
}

}  // namespace brokergw::core
