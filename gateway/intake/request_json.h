// The internal API's JSON bodies (v1): parsing requests into core types, rendering orders and
// errors. Owns the wire grammar of each field and the wording of field errors.
//
// Pure functions with no I/O and no shared state: any API worker thread may call them
// concurrently.
//
// Invariants: parse_* never throw, whatever the bytes; a body is accepted only when every field
// is known and valid, otherwise every problem found is returned, each naming its field ("" for
// the body as a whole). Quantities and prices travel as decimal strings, never JSON numbers,
// so no value ever passes through floating point.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "gateway/core/order.h"

namespace brokergw::intake {

struct FieldError {
  std::string field;   // "quantity"; "" when the body as a whole is wrong
  std::string reason;  // "must be a decimal string, e.g. \"100\""

  friend bool operator==(const FieldError&, const FieldError&) = default;
};

struct CancelRequest {
  std::string client_cancel_id;  // idempotency key of the cancel; ClOrdID charset

  friend bool operator==(const CancelRequest&, const CancelRequest&) = default;
};

// Body of POST /v1/orders:
//   client_order_id  string, 1..64 of [A-Za-z0-9._:/-]          required
//   account          string, 1..32 of [A-Za-z0-9._-]            required
//   broker           string, a name broker_known() accepts      required
//   symbol           string, 1..24 of [A-Za-z0-9./-]            required
//   side             "buy" | "sell" | "sell_short"              required
//   quantity         decimal string > 0, <= 8 fraction digits   required
//   order_type       "market" | "limit"                         required
//   limit_price      decimal string > 0; required for limit, forbidden for market
//   time_in_force    "day" | "gtc" | "ioc" | "fok"              default "day"
// A null optional field counts as absent. Unknown and duplicate fields are errors.
// broker_known must not throw; an empty function knows no broker.
tl::expected<core::NewOrderRequest, std::vector<FieldError>> parse_new_order(
    std::string_view body, const std::function<bool(std::string_view)>& broker_known);

// Body of a cancel: {"client_cancel_id": "..."}, same charset rules as client_order_id.
tl::expected<CancelRequest, std::vector<FieldError>> parse_cancel(std::string_view body);

// The request as a body parse_new_order accepts: parse_new_order(dump(new_order_to_json(r)))
// gives r back. limit_price is present only for limit orders.
nlohmann::json new_order_to_json(const core::NewOrderRequest& request);

// An order as the API returns it: the request fields (as new_order_to_json), then state,
// cum_qty, leaves_qty, avg_price (decimal strings), broker_order_id, cancel_id, reject_reason
// ("" until known, as docs/PROTOCOL.md shows), send_attempts, version, created_at, updated_at
// and history [{at, state, reason}]. Timestamps are RFC 3339 UTC with microseconds.
nlohmann::json order_to_json(const core::Order& order, std::uint64_t version);

// {"error": {"code": "invalid_request", "message": "...", "fields": [{field, reason}, ...]}};
// "fields" is always present, possibly empty.
nlohmann::json errors_to_json(std::string_view code, std::string_view message,
                              const std::vector<FieldError>& fields = {});

// "2024-05-01T12:34:56.000123Z" (RFC 3339, UTC, always six fraction digits).
std::string format_timestamp(core::TimestampUs us);

// Serialises a response body. Strings from brokers (reject reasons) may hold invalid UTF-8,
// on which a plain dump() throws; this replaces such bytes with U+FFFD instead.
std::string to_body(const nlohmann::json& json);

}  // namespace brokergw::intake
