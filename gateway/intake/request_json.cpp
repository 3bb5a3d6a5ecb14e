// JSON request parsing and response rendering for the internal API; see request_json.h.
#include "gateway/intake/request_json.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>
#include <set>
#include <utility>

namespace brokergw::intake {
namespace {

using json = nlohmann::json;

// A body is bounded by api.max_body_bytes, but an error list should stay readable whatever
// arrives: after this many unknown or duplicate fields the rest are summarised in one line.
constexpr std::size_t kMaxReportedExtraFields = 16;
// Field names echoed in errors are cut to this many bytes.
constexpr std::size_t kMaxEchoedNameBytes = 64;

constexpr std::string_view kRequired = "is required";
constexpr std::string_view kUnknown = "unknown field";
constexpr std::string_view kDuplicate = "duplicate field";

// ---- Body -----------------------------------------------------------------------------------

struct Object {
  json value;                           // a JSON object
  std::vector<std::string> duplicates;  // top-level names given more than once
};

tl::expected<Object, FieldError> parse_object(std::string_view body) {
  if (std::all_of(body.begin(), body.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; })) {
    return tl::unexpected(FieldError{"", "request body is empty"});
  }
  Object out;
  std::set<std::string, std::less<>> seen;
  // nlohmann keeps the last of duplicate names silently; a client sending two quantities
  // has a bug we should name, not guess around.
  const auto on_event = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key && parsed.is_string()) {
      const auto& name = parsed.get_ref<const std::string&>();
      if (!seen.insert(name).second) out.duplicates.push_back(name);
    }
    return true;
  };
  try {
    out.value = json::parse(body.begin(), body.end(), on_event, /*allow_exceptions=*/true,
                            /*ignore_comments=*/false);
  } catch (const json::parse_error& e) {
    return tl::unexpected(FieldError{"", "invalid JSON at byte " + std::to_string(e.byte)});
  } catch (const json::exception&) {
    return tl::unexpected(FieldError{"", "invalid JSON"});  // e.g. a number out of range
  }
  if (!out.value.is_object()) {
    return tl::unexpected(FieldError{"", "request body must be a JSON object"});
  }
  return out;
}

// Field names come from a parsed JSON document, so they are valid UTF-8; cutting them keeps
// whole code points so the error body stays valid UTF-8 as well.
std::string echo_name(const std::string& name) {
  if (name.size() <= kMaxEchoedNameBytes) return name;
  std::size_t cut = kMaxEchoedNameBytes;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xC0) == 0x80) --cut;
  return name.substr(0, cut) + "...";
}

// Reports unknown and duplicate top-level names.
void check_names(const Object& body, std::initializer_list<std::string_view> known,
                 std::vector<FieldError>& errors) {
  std::size_t reported = 0;
  bool summarised = false;
  const auto report = [&](const std::string& name, std::string_view reason) {
    if (reported < kMaxReportedExtraFields) {
      errors.push_back(FieldError{echo_name(name), std::string(reason)});
      ++reported;
    } else if (!summarised) {
      errors.push_back(FieldError{"", "more unknown or duplicate fields not listed"});
      summarised = true;
    }
  };
  for (const auto& [name, value] : body.value.get_ref<const json::object_t&>()) {
    if (std::find(known.begin(), known.end(), name) == known.end()) report(name, kUnknown);
  }
  for (const auto& name : body.duplicates) {
    if (std::find(known.begin(), known.end(), name) != known.end()) report(name, kDuplicate);
  }
}

// ---- Field rules ----------------------------------------------------------------------------

// The value of `name`, or nullptr when absent. A null counts as absent: clients commonly send
// null for "not given", and it can never be a valid value.
const json* find(const Object& body, std::string_view name) {
  const auto& object = body.value.get_ref<const json::object_t&>();
  const auto it = object.find(name);
  if (it == object.end() || it->second.is_null()) return nullptr;
  return &it->second;
}

// The string value of a field, or nullopt after recording why there is none.
std::optional<std::string_view> string_field(const Object& body, std::string_view name,
                                             bool required, std::vector<FieldError>& errors) {
  const json* value = find(body, name);
  if (value == nullptr) {
    if (required) errors.push_back(FieldError{std::string(name), std::string(kRequired)});
    return std::nullopt;
  }
  if (!value->is_string()) {
    errors.push_back(FieldError{std::string(name), "must be a string"});
    return std::nullopt;
  }
  return std::string_view(value->get_ref<const std::string&>());
}

bool is_alnum_ascii(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

struct Charset {
  std::size_t max_len;
  std::string_view punctuation;  // allowed besides ASCII letters and digits
  std::string_view reason;
};

constexpr Charset kIdCharset{64, "._:/-", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"};
constexpr Charset kAccountCharset{32, "._-", "must be 1 to 32 characters of A-Z a-z 0-9 . _ -"};
constexpr Charset kSymbolCharset{24, "./-", "must be 1 to 24 characters of A-Z a-z 0-9 . / -"};

bool fits(std::string_view s, const Charset& charset) {
  return !s.empty() && s.size() <= charset.max_len && std::all_of(s.begin(), s.end(), [&](char c) {
    return is_alnum_ascii(c) || charset.punctuation.find(c) != std::string_view::npos;
  });
}

std::optional<std::string> token_field(const Object& body, std::string_view name,
                                       const Charset& charset, std::vector<FieldError>& errors) {
  const auto text = string_field(body, name, /*required=*/true, errors);
  if (!text) return std::nullopt;
  if (!fits(*text, charset)) {
    errors.push_back(FieldError{std::string(name), std::string(charset.reason)});
    return std::nullopt;
  }
  return std::string(*text);
}

template <class Enum>
std::optional<Enum> enum_field(const Object& body, std::string_view name, bool required,
                               std::optional<Enum> (*from_string)(std::string_view),
                               std::string_view reason, std::vector<FieldError>& errors) {
  const auto text = string_field(body, name, required, errors);
  if (!text) return std::nullopt;
  auto value = from_string(*text);
  if (!value) errors.push_back(FieldError{std::string(name), std::string(reason)});
  return value;
}

// Why `text` is not a positive decimal, or nullopt with `out` set when it is.
std::optional<std::string> decimal_problem(std::string_view text, core::Decimal& out) {
  // Classify the grammar first so that each failure of Decimal::parse gets a precise reason.
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '-') digits.remove_prefix(1);
  const auto dot = digits.find('.');
  const std::string_view whole = digits.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : digits.substr(dot + 1);
  const auto all_digits = [](std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!all_digits(whole) || (dot != std::string_view::npos && !all_digits(fraction))) {
    return "must be a decimal number such as \"100\" or \"0.25\"";
  }
  if (fraction.size() > core::Decimal::kScale) return "must have at most 8 fraction digits";
  const auto value = core::Decimal::parse(text, /*allow_negative=*/true);
  if (!value) return "is too large";
  if (!value->is_positive()) return "must be greater than 0";
  out = *value;
  return std::nullopt;
}

std::optional<core::Decimal> decimal_field(const Object& body, std::string_view name,
                                           std::string_view example,
                                           std::vector<FieldError>& errors) {
  const json* value = find(body, name);
  if (value == nullptr) return std::nullopt;  // presence rules are the caller's
  if (!value->is_string()) {
    // A JSON number would pass through a double in most clients; insist on the exact text.
    errors.push_back(FieldError{std::string(name),
                                "must be a decimal string, e.g. \"" + std::string(example) + "\""});
    return std::nullopt;
  }
  core::Decimal out;
  if (auto problem = decimal_problem(value->get_ref<const std::string&>(), out)) {
    errors.push_back(FieldError{std::string(name), std::move(*problem)});
    return std::nullopt;
  }
  return out;
}

}  // namespace

tl::expected<core::NewOrderRequest, std::vector<FieldError>> parse_new_order(
    std::string_view body, const std::function<bool(std::string_view)>& broker_known) {
  auto object = parse_object(body);
  if (!object) return tl::unexpected(std::vector<FieldError>{std::move(object.error())});

  std::vector<FieldError> errors;
  core::NewOrderRequest r;

  auto client_order_id = token_field(*object, "client_order_id", kIdCharset, errors);
  auto account = token_field(*object, "account", kAccountCharset, errors);
  auto broker = string_field(*object, "broker", /*required=*/true, errors);
  if (broker && !(broker_known && broker_known(*broker))) {
    errors.push_back(FieldError{"broker", "is not a known broker"});
    broker.reset();
  }
  auto symbol = token_field(*object, "symbol", kSymbolCharset, errors);
  const auto side = enum_field(*object, "side", /*required=*/true, &core::side_from_string,
                               "must be one of buy, sell, sell_short", errors);

  const auto quantity = decimal_field(*object, "quantity", "100", errors);
  if (find(*object, "quantity") == nullptr) {
    errors.push_back(FieldError{"quantity", std::string(kRequired)});
  }

  const auto order_type =
      enum_field(*object, "order_type", /*required=*/true, &core::order_type_from_string,
                 "must be one of market, limit", errors);

  const auto limit_price = decimal_field(*object, "limit_price", "187.25", errors);
  const bool has_limit_price = find(*object, "limit_price") != nullptr;
  if (order_type == core::OrderType::kLimit && !has_limit_price) {
    errors.push_back(FieldError{"limit_price", "is required for a limit order"});
  } else if (order_type == core::OrderType::kMarket && has_limit_price) {
    errors.push_back(FieldError{"limit_price", "must not be set for a market order"});
  }

  const auto time_in_force =
      enum_field(*object, "time_in_force", /*required=*/false, &core::time_in_force_from_string,
                 "must be one of day, gtc, ioc, fok", errors);
  const bool bad_time_in_force = find(*object, "time_in_force") != nullptr && !time_in_force;

  check_names(*object,
              {"client_order_id", "account", "broker", "symbol", "side", "quantity", "order_type",
               "limit_price", "time_in_force"},
              errors);

  if (!errors.empty()) return tl::unexpected(std::move(errors));
  // Every required value is present here: a missing or bad one would have left an error.
  if (!client_order_id || !account || !broker || !symbol || !side || !quantity || !order_type ||
      bad_time_in_force) {
    return tl::unexpected(std::vector<FieldError>{FieldError{"", "invalid request"}});
  }
  r.client_order_id = std::move(*client_order_id);
  r.account = std::move(*account);
  r.broker = std::string(*broker);
  r.symbol = std::move(*symbol);
  r.side = *side;
  r.quantity = core::Qty{*quantity};
  r.order_type = *order_type;
  if (limit_price) r.limit_price = core::Price{*limit_price};
  r.time_in_force = time_in_force.value_or(core::TimeInForce::kDay);
  return r;
}

tl::expected<CancelRequest, std::vector<FieldError>> parse_cancel(std::string_view body) {
  auto object = parse_object(body);
  if (!object) return tl::unexpected(std::vector<FieldError>{std::move(object.error())});

  std::vector<FieldError> errors;
  auto client_cancel_id = token_field(*object, "client_cancel_id", kIdCharset, errors);
  check_names(*object, {"client_cancel_id"}, errors);
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  if (!client_cancel_id) {
    return tl::unexpected(std::vector<FieldError>{FieldError{"", "invalid request"}});
  }
  return CancelRequest{std::move(*client_cancel_id)};
}

nlohmann::json new_order_to_json(const core::NewOrderRequest& r) {
  json j = json::object();
  j["client_order_id"] = r.client_order_id;
  j["account"] = r.account;
  j["broker"] = r.broker;
  j["symbol"] = r.symbol;
  j["side"] = core::to_string(r.side);
  j["quantity"] = r.quantity.value.to_string();
  j["order_type"] = core::to_string(r.order_type);
  if (r.limit_price) j["limit_price"] = r.limit_price->value.to_string();
  j["time_in_force"] = core::to_string(r.time_in_force);
  return j;
}

nlohmann::json order_to_json(const core::Order& order, std::uint64_t version) {
  json j = new_order_to_json(order.request);
  j["state"] = core::to_string(order.state);
  j["cum_qty"] = order.cum_qty.value.to_string();
  j["leaves_qty"] = order.leaves_qty.value.to_string();
  j["avg_price"] = order.avg_price.value.to_string();
  j["broker_order_id"] = order.broker_order_id;
  j["cancel_id"] = order.cancel_id;
  j["reject_reason"] = order.reject_reason;
  j["send_attempts"] = order.send_attempts;
  // What an operator must reconcile with the broker (docs/EVENTS.md, "Missing fills").
  j["broker_cum_qty"] = order.broker_cum_qty.value.to_string();
  j["fills_missing"] = core::fills_missing(order);
  j["unverified"] = order.unverified;
  j["version"] = version;
  j["created_at"] = format_timestamp(order.created_us);
  j["updated_at"] = format_timestamp(order.updated_us);
  json history = json::array();
  for (const auto& t : order.history) {
    history.push_back({{"at", format_timestamp(t.at_us)},
                       {"state", core::to_string(t.state)},
                       {"reason", t.reason}});
  }
  j["history"] = std::move(history);
  return j;
}

nlohmann::json errors_to_json(std::string_view code, std::string_view message,
                              const std::vector<FieldError>& fields) {
  json list = json::array();
  for (const auto& f : fields) list.push_back({{"field", f.field}, {"reason", f.reason}});
  return {{"error", {{"code", code}, {"message", message}, {"fields", std::move(list)}}}};
}

std::string format_timestamp(core::TimestampUs us) {
  constexpr std::int64_t kUsPerDay = 86'400'000'000;
  // Floor division without overflow, for times before the epoch too.
  std::int64_t days = us / kUsPerDay;
  std::int64_t rem = us % kUsPerDay;
  if (rem < 0) {
    rem += kUsPerDay;
    --days;
  }
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse).
  const std::int64_t z = days + 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);

  const std::int64_t second_of_day = rem / 1'000'000;
  char buf[64];
  std::snprintf(buf, sizeof buf,
                "%04" PRId64 "-%02" PRId64 "-%02" PRId64 "T%02" PRId64 ":%02" PRId64 ":%02" PRId64
                ".%06" PRId64 "Z",
                year, month, day, second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60,
                rem % 1'000'000);
  return buf;
}

std::string to_body(const nlohmann::json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

}  // namespace brokergw::intake
