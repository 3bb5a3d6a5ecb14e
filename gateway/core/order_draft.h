// Internal to the order state machine (order_machine.cpp, order_corrections.cpp): the working
// copy of an order while one event is applied, the helpers that change it, and the per-event
// handlers apply() visits. Pure; not part of the core's interface.
//
// Invariant: a handler either returns a Refusal and leaves the caller's order untouched (it
// works on a copy), or changes the draft through these helpers, which keep `touched` and
// `fill_applied` true to what changed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/order_machine.h"

namespace brokergw::core::draft {

using OptRefusal = std::optional<Refusal>;

struct Draft {
  Order order;
  bool touched = false;       // any field changed (drives updated_us)
  bool fill_applied = false;  // quantities moved (drives history with no state change)
  std::string reason;         // history reason for this event
  std::string anomaly;
};

Refusal refuse(RefusalReason reason, const Order& o, std::string_view event,
               std::string_view why = {});
void set_state(Draft& d, OrderState s);
void set_before_pending(Draft& d, OrderState s);
void mark_acknowledged(Draft& d);
void record_broker_order_id(Draft& d, const std::string& id);
void add_quantities(Draft& d, Qty cum, Notional notional);
void state_after_fill(Draft& d);

// order_corrections.cpp
OptRefusal on(Draft& d, const EvBust& ev);
OptRefusal on(Draft& d, const EvCorrect& ev);
OptRefusal on(Draft& d, const EvRestated& ev);

}  // namespace brokergw::core::draft
