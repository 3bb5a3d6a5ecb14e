// The narrow interface between the event pipeline (gateway/events) and a message bus
// (adapters/kafka). The gateway never includes librdkafka headers; it hands fully rendered
// events to a sink and learns of their fate through delivery callbacks.
//
// Threads: produce() and poll() are called from the single publisher thread. The delivery
// callback runs inside poll(), on that same thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace brokergw::events {

struct OutboundEvent {
  std::uint64_t seq = 0;  // the gateway's gap-free event sequence number
  std::string key;        // partitioning key: the account, so one account's events stay in order
  std::string value;      // the versioned JSON payload, byte-identical to the polling API's
  std::vector<std::pair<std::string, std::string>> headers;  // event_id, type, broker, ...
};

enum class SinkErrc {
  kQueueFull,  // retriable: the producer's local queue is full; poll() and try again
  kFatal,      // the producer is unusable (e.g. idempotence fatal error); needs a restart
  kInvalid,    // this event cannot be produced (e.g. too large); an operator must look
};

struct SinkError {
  SinkErrc code;
  std::string detail;
};

class EventSink {
 public:
  // delivered == true once the bus acknowledged the event (acks=all); false with a reason
  // when the producer gave up on it (the publisher then produces it again, same id).
  using DeliveryFn =
      std::function<void(std::uint64_t seq, bool delivered, const std::string& error)>;

  virtual ~EventSink() = default;
  virtual tl::expected<void, SinkError> produce(const OutboundEvent& event) = 0;
  // Serves delivery reports and errors for up to timeout_ms.
  virtual void poll(int timeout_ms) = 0;
  // Waits up to timeout_ms for every produced event to be delivered or failed.
  virtual void flush(int timeout_ms) = 0;
  // False once the producer hit a fatal error.
  virtual bool healthy() const = 0;
  // Events handed to the producer and not yet reported.
  virtual std::size_t in_flight() const = 0;
};

}  // namespace brokergw::events
