// The one narrow interface between the gateway and a broker transport (FIX, HTTP, ...).
// A broker's quirks live behind it; gateway/ never asks which broker it talks to.
//
// Threads: send_* are called from the broker's own dispatcher thread. Listener callbacks run
// on the adapter's I/O thread. on_report() returns only after the report is durably stored,
// because the transport may acknowledge the message (advance its sequence number) as soon
// as the callback returns.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "gateway/core/order.h"

namespace brokergw::adapters {

enum class SendErrc {
  kSessionDown,      // retriable: not logged on; the order waits for the session
  kRejectedLocally,  // fatal: the message cannot be built for this broker (dialect limits)
};

struct SendError {
  SendErrc code;
  std::string detail;
  bool retriable() const { return code == SendErrc::kSessionDown; }
};

using SendResult = tl::expected<void, SendError>;

// One normalized message from the broker about one of our orders.
struct BrokerReport {
  std::string broker;
  std::string client_order_id;  // our ClOrdID of the order (OrigClOrdID for cancel reports)
  std::string cancel_id;        // our ClOrdID of the cancel request, when the report is about one
  std::string exec_id;          // the broker's execution id, for de-duplication ("" if none)
  bool possible_duplicate = false;  // PossDupFlag / PossResend set by the broker
  // The broker answered a status query: it does not know this order (it never arrived).
  bool not_at_broker = false;
  // The broker refused a NewOrderSingle because it already has this ClOrdID: the order is
  // there (our resend crossed an earlier copy), not rejected.
  bool duplicate_order = false;
  core::OrderEvent event;
  std::string summary;  // one line for logs (never contains credentials)
};

class AdapterListener {
 public:
  virtual ~AdapterListener() = default;
  virtual void on_report(BrokerReport report) = 0;
  virtual void on_session_state(std::string_view broker, bool logged_on,
                                std::string_view detail) = 0;
};

class BrokerAdapter {
 public:
  virtual ~BrokerAdapter() = default;
  virtual const std::string& broker() const = 0;
  virtual void start(AdapterListener& listener) = 0;
  virtual void stop() = 0;
  virtual bool logged_on() const = 0;
  // poss_resend: an idempotent resend of the same ClOrdID (FIX PossResend=Y).
  virtual SendResult send_new_order(const core::Order& order, bool poss_resend) = 0;
  // Asks the broker for the order's status by our ClOrdID (FIX OrderStatusRequest 35=H).
  virtual SendResult send_status_request(const core::Order& order) = 0;
  virtual SendResult send_cancel(const core::Order& order, std::string_view cancel_id) = 0;
};

}  // namespace brokergw::adapters
