#include "gateway/core/backoff.h"

#include <algorithm>

namespace brokergw::core {

std::uint64_t nominal_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt) {
  const std::uint32_t shift = attempt == 0 ? 0 : std::min<std::uint32_t>(attempt - 1, 40);
  // Saturate instead of overflowing: anything past the cap is the cap.
  const std::uint64_t base = std::max<std::uint64_t>(policy.base_ms, 1);
  const std::uint64_t cap = std::max(policy.cap_ms, base);
  if (base > (cap >> shift)) return cap;
  return std::min(cap, base << shift);
}

std::uint64_t retry_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt,
                             std::uint64_t draw) {
  const std::uint64_t nominal = nominal_delay_ms(policy, attempt);
  const std::uint64_t pct = std::min<std::uint32_t>(policy.jitter_pct, 100);
  const std::uint64_t spread = nominal / 100 * pct + (nominal % 100) * pct / 100;
  const std::uint64_t offset = spread == 0 ? 0 : draw % (2 * spread + 1);
  return std::max<std::uint64_t>(1, nominal - spread + offset);
}

}  // namespace brokergw::core
