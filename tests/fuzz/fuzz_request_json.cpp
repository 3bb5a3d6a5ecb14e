// libFuzzer target for the internal API's request parsing (gateway/intake/request_json).
// Built only with -DBROKERGW_FUZZ=ON (tests/unit/fuzz.cmake); run for example:
//   build/tests/fuzz_request_json -max_total_time=60 -dict=tests/fuzz/request_json.dict \
//     <scratch corpus dir> tests/fuzz/corpus/request_json
//
// Properties checked on every input, beyond "no crash, no sanitizer report": no exception
// leaves the parsers; an accepted order is well formed and parses back equal from its own
// rendering; a refusal names at least one problem and renders as an error body.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/intake/request_json.h"

namespace {

using brokergw::intake::errors_to_json;
using brokergw::intake::new_order_to_json;
using brokergw::intake::parse_cancel;
using brokergw::intake::parse_new_order;
using brokergw::intake::to_body;

bool known_broker(std::string_view name) { return name == "sim"; }

void require(bool ok) {
  if (!ok) std::abort();  // libFuzzer reports the input that got here
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    auto order = parse_new_order(body, known_broker);
    if (order) {
      require(order->quantity.value.is_positive());
      require(order->limit_price.has_value() ==
              (order->order_type == brokergw::core::OrderType::kLimit));
      require(!order->limit_price || order->limit_price->value.is_positive());
      auto again = parse_new_order(to_body(new_order_to_json(*order)), known_broker);
      require(again.has_value() && *again == *order);
    } else {
      require(!order.error().empty());
      require(!to_body(errors_to_json("invalid_request", "x", order.error())).empty());
    }
    auto cancel = parse_cancel(body);
    if (cancel) {
      require(!cancel->client_cancel_id.empty() && cancel->client_cancel_id.size() <= 64);
    } else {
      require(!cancel.error().empty());
      require(!to_body(errors_to_json("invalid_request", "x", cancel.error())).empty());
    }
  } catch (...) {
    std::abort();  // the parsers promise never to throw
  }
  return 0;
}
