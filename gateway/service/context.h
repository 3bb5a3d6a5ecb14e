// What the service's parts share: the store, the clock, the event notifier, the counters, the
// wait tracker and the broker lanes. Owned by OrderService; every part holds a reference.
//
// Threads: every member is safe to use from any thread (the store, notifier, metrics and
// tracker synchronise themselves; `lanes` is built before start() and never changes after).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/events/notifier.h"
#include "gateway/service/tracker.h"
#include "gateway/service/types.h"
#include "store/store.h"

namespace brokergw::service {

class Lane;

struct Shared {
  Shared(store::Store& s, Clock c, events::EventNotifier& n);  // lane.cpp, as ~Shared
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;
  ~Shared();  // lane.cpp, where Lane is complete

  store::Store& store;
  Clock clock;
  events::EventNotifier& notifier;
  ServiceMetrics metrics;
  WaitTracker tracker;
  std::map<std::string, std::unique_ptr<Lane>, std::less<>> lanes;
  std::function<void()> wake_scheduler;  // a new entry may be due now

  Lane* lane_for(std::string_view broker) const {
    auto it = lanes.find(broker);
    return it == lanes.end() ? nullptr : it->second.get();
  }
};

}  // namespace brokergw::service
