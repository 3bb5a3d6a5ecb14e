// Restart recovery: what the gateway does at start with every open order, from the store's
// open-orders index (so its cost is the number of open orders, not of all orders ever taken).
// Each order's fate is core::decide_restart; orders in flight at the restart become unknown
// and are resolved by the scheduler, never-sent ones are re-queued by their lane's walk
// (bounded by the lane), and the wait tracker is rebuilt.
//
// Threads: the thread that calls OrderService::start(), before lanes and scheduler run.
// A store failure here stops the process: a gateway that cannot recover must not trade.
#pragma once

#include "gateway/service/context.h"

namespace brokergw::service {

void recover(Shared& shared);

}  // namespace brokergw::service
