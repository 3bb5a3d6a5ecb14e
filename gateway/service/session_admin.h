// Session administration: what the service does with a broker's FIX sequence numbers (the
// adapter's session control, adapters/adapter.h). It journals refusals (session.sequence_refused)
// and operator changes (session.sequence_set / session.sequence_reset, in the transaction that
// makes the change durable), counts refusals, and answers the admin API (gateway/api/
// admin_routes.cpp) with each broker's numbers and refusal state.
//
// Threads: on_refused runs on the adapter's session thread and only queues a store write;
// show/all/change on API threads (change blocks for the adapter's logout and one synced
// commit). State: one mutex over the last journaled refusal per broker.
//
// Invariants: a refusal is journaled when it is the first of a series or expects another
// number than the last journaled one (a wedged session journals one event, not one per
// reconnect; every refusal is logged and counted);
// change() validates the request before touching the session and changes nothing on error.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "adapters/adapter.h"

namespace brokergw::service {

struct Shared;

enum class SessionErrc {
  kUnknownBroker,  // no such broker (field "broker")
  kUnsupported,    // the broker's transport has no sequence numbers
  kInvalid,        // a field is wrong (field names it)
  kFailed,         // the session or the store refused the change; nothing changed
};

struct SessionError {
  SessionErrc code;
  std::string field;  // the request field at fault, "" when none
  std::string message;
};

struct SessionView {
  std::string broker;
  adapters::SessionControlStatus status;
};

class SessionAdmin {
 public:
  explicit SessionAdmin(Shared& shared) : shared_(shared) {}

  void on_refused(std::string_view broker, const adapters::SequenceRefusal& refusal);

  tl::expected<SessionView, SessionError> show(std::string_view broker) const;
  std::vector<SessionView> all() const;
  // Validates, then applies through the adapter with its audit event. Dry runs go through
  // show(): nothing here changes anything without being journaled.
  tl::expected<adapters::SequenceChange, SessionError> change(
      std::string_view broker, const adapters::SequenceRequest& request);

  std::uint64_t refusals_total() const { return refusals_total_.load(); }

 private:
  Shared& shared_;
  std::atomic<std::uint64_t> refusals_total_{0};
  mutable std::mutex mu_;
  // broker -> (side, expected) of the last journaled refusal; erased by a logon or a change.
  std::map<std::string, std::pair<int, int>, std::less<>> journaled_;
  friend class OrderService;
  void on_logon(std::string_view broker);
};

}  // namespace brokergw::service
