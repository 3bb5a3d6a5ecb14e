// What identifies an execution report's content, for de-duplication: a report whose ExecID
// the gateway has stored before for the same order is a duplicate only if this content is the
// same (FIX 4.4 field 17: ExecIDs are unique only within a trading day, or the life of a
// multi-day order, so a broker that restarted can reuse one). Pure data; any thread.
//
// Invariant: equality compares decimals by value ("5" == "5.0"), so a resend formatted
// differently is still the same report.
#pragma once

#include <optional>
#include <string>

#include "gateway/core/decimal.h"

namespace brokergw::core {

struct ExecContent {
  std::string exec_type;            // ExecType(150), with "/" ExecTransType(20) when present
  std::optional<Decimal> last_qty;  // LastQty(32)
  std::optional<Decimal> last_px;   // LastPx(31)
  std::optional<Decimal> cum_qty;   // CumQty(14)

  friend bool operator==(const ExecContent&, const ExecContent&) = default;
  // "ExecType=F LastQty=5 LastPx=10.5 CumQty=5" (absent fields left out).
  std::string describe() const {
    std::string out = "ExecType=" + exec_type;
    if (last_qty) out += " LastQty=" + last_qty->to_string();
    if (last_px) out += " LastPx=" + last_px->to_string();
    if (cum_qty) out += " CumQty=" + cum_qty->to_string();
    return out;
  }
};

}  // namespace brokergw::core
