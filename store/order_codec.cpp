#include "store/order_codec.h"

#include <cstdint>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/core/decimal.h"
#include "gateway/core/order.h"
#include "gateway/core/resolution.h"

namespace brokergw::store::codec {
namespace {

using nlohmann::json;

// Our documents are at most 3 levels deep (record > order > history[] > entry); anything
// deeper is corrupt. Checked before the DOM is built so a hostile record cannot recurse the
// CBOR reader into a stack overflow.
constexpr std::size_t kMaxDepth = 8;

// A SAX pass that only checks shape: depth and declared container sizes (a size larger than
// the remaining input is corrupt, and would make nlohmann throw on allocation).
class ShapeCheck {
 public:
  explicit ShapeCheck(std::size_t input_size) : input_size_(input_size) {}
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(json::number_integer_t) { return true; }
  bool number_unsigned(json::number_unsigned_t) { return true; }
  bool number_float(json::number_float_t, const json::string_t&) { return true; }
  bool string(json::string_t&) { return true; }
  bool binary(json::binary_t&) { return true; }
  bool key(json::string_t&) { return true; }
  bool start_object(std::size_t n) { return open(n); }
  bool start_array(std::size_t n) { return open(n); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    error_ = "byte " + std::to_string(position) + ": " + e.what();
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  bool open(std::size_t n) {
    if (++depth_ > kMaxDepth) {
      error_ = "nesting deeper than " + std::to_string(kMaxDepth);
      return false;
    }
    if (n != static_cast<std::size_t>(-1) && n > input_size_) {
      error_ = "container size " + std::to_string(n) + " exceeds the record";
      return false;
    }
    return true;
  }
  bool close() {
    --depth_;
    return true;
  }
  std::size_t input_size_;
  std::size_t depth_ = 0;
  std::string error_;
};

Result<json> parse_cbor(std::string_view bytes) {
  try {
    ShapeCheck check(bytes.size());
    if (!json::sax_parse(bytes.begin(), bytes.end(), &check, json::input_format_t::cbor)) {
      return store_error(
          StoreErrc::kCorrupt,
          "not a valid record: " + (check.error().empty() ? "rejected" : check.error()));
    }
    json j = json::from_cbor(bytes.begin(), bytes.end(), /*strict=*/true,
                             /*allow_exceptions=*/false);
    if (j.is_discarded()) return store_error(StoreErrc::kCorrupt, "not a valid record");
    if (!j.is_object()) return store_error(StoreErrc::kCorrupt, "record is not an object");
    return j;
  } catch (const std::exception& e) {
    return store_error(StoreErrc::kCorrupt, std::string("not a valid record: ") + e.what());
  }
}

// Reads typed fields from one object; the first problem is kept (with its field path) and
// later reads return defaults, so a decoder reads everything and checks once at the end.
class Reader {
 public:
  Reader(const json& obj, std::string path, std::string& error)
      : obj_(obj), path_(std::move(path)), error_(error) {}

  const json* field(const char* name) {
    if (!error_.empty()) return nullptr;
    auto it = obj_.find(name);
    if (it == obj_.end()) {
      fail(name, "missing");
      return nullptr;
    }
    return &*it;
  }

  std::string str(const char* name) {
    const json* v = field(name);
    if (v == nullptr) return {};
    if (!v->is_string()) return fail(name, "not a string"), std::string();
    return v->get_ref<const std::string&>();
  }

  std::int64_t i64(const char* name) {
    const json* v = field(name);
    if (v == nullptr) return 0;
    if (v->is_number_unsigned()) {
      auto u = v->get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return fail(name, "out of range"), 0;
      }
      return static_cast<std::int64_t>(u);
    }
    if (v->is_number_integer()) return v->get<std::int64_t>();
    return fail(name, "not an integer"), 0;
  }

  std::optional<std::int64_t> optional_i64(const char* name) {
    if (!error_.empty() || obj_.find(name) == obj_.end()) return std::nullopt;
    return i64(name);
  }

  std::uint64_t u64(const char* name, std::uint64_t max) {
    const json* v = field(name);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned()) return fail(name, "not an unsigned integer"), 0;
    auto u = v->get<std::uint64_t>();
    if (u > max) return fail(name, "out of range"), 0;
    return u;
  }

  bool optional_boolean(const char* name) {
    if (!error_.empty() || obj_.find(name) == obj_.end()) return false;
    return boolean(name);
  }

  bool boolean(const char* name) {
    const json* v = field(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return fail(name, "not a boolean"), false;
    return v->get<bool>();
  }

  template <class E>
  E enumeration(const char* name, std::optional<E> (*parse)(std::string_view)) {
    std::string text = str(name);
    if (!error_.empty()) return E{};
    std::optional<E> e = parse(text);
    if (!e) return fail(name, "unknown value \"" + text + "\""), E{};
    return *e;
  }

  core::Decimal decimal(const char* name) {
    std::string text = str(name);
    if (!error_.empty()) return {};
    // Negative values are accepted: the codec must read back whatever it wrote; whether a
    // quantity may be negative is core::check_invariants' business, not the codec's.
    std::optional<core::Decimal> d = core::Decimal::parse(text, /*allow_negative=*/true);
    if (!d) return fail(name, "not a decimal \"" + text + "\""), core::Decimal{};
    return *d;
  }

  std::optional<core::Decimal> optional_decimal(const char* name) {
    if (!error_.empty()) return std::nullopt;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return std::nullopt;
    return decimal(name);
  }

  core::Notional notional(const char* name) {
    std::string text = str(name);
    if (!error_.empty()) return 0;
    std::optional<core::Notional> n = core::notional_from_string(text);
    if (!n) return fail(name, "not a notional \"" + text + "\""), core::Notional{0};
    return *n;
  }

  const json* object(const char* name) {
    const json* v = field(name);
    if (v != nullptr && !v->is_object()) return fail(name, "not an object"), nullptr;
    return v;
  }

  const json* array(const char* name) {
    const json* v = field(name);
    if (v != nullptr && !v->is_array()) return fail(name, "not an array"), nullptr;
    return v;
  }

  void fail(const std::string& name, const std::string& what) {
    if (error_.empty()) error_ = "field " + path_ + name + ": " + what;
  }

 private:
  const json& obj_;
  std::string path_;
  std::string& error_;
};

json encode_order_doc(const core::Order& o) {
  const core::NewOrderRequest& r = o.request;
  json req = json::object();
  req["client_order_id"] = r.client_order_id;
  req["account"] = r.account;
  req["broker"] = r.broker;
  req["symbol"] = r.symbol;
  req["side"] = core::to_string(r.side);
  req["quantity"] = r.quantity.value.to_string();
  req["order_type"] = core::to_string(r.order_type);
  req["limit_price"] = r.limit_price ? json(r.limit_price->value.to_string()) : json(nullptr);
  req["time_in_force"] = core::to_string(r.time_in_force);

  json history = json::array();
  for (const core::Transition& t : o.history) {
    json entry = json::object();
    entry["at_us"] = t.at_us;
    entry["state"] = core::to_string(t.state);
    entry["reason"] = t.reason;
    history.push_back(std::move(entry));
  }

  json doc = json::object();
  doc["request"] = std::move(req);
  doc["state"] = core::to_string(o.state);
  doc["state_before_pending"] = core::to_string(o.state_before_pending);
  doc["cum_qty"] = o.cum_qty.value.to_string();
  doc["leaves_qty"] = o.leaves_qty.value.to_string();
  doc["cum_notional"] = core::notional_to_string(o.cum_notional);
  doc["avg_price"] = o.avg_price.value.to_string();
  doc["broker_order_id"] = o.broker_order_id;
  doc["cancel_id"] = o.cancel_id;
  doc["reject_reason"] = o.reject_reason;
  doc["send_attempts"] = o.send_attempts;
  doc["acknowledged"] = o.acknowledged;
  // Written only when set, so records of orders without a discrepancy stay as they were.
  if (!o.broker_cum_qty.value.is_zero()) doc["broker_cum_qty"] = o.broker_cum_qty.value.to_string();
  if (o.unverified) doc["unverified"] = true;
  doc["created_us"] = o.created_us;
  doc["updated_us"] = o.updated_us;
  doc["history"] = std::move(history);
  return doc;
}

core::Order decode_order_doc(const json& doc, std::string& error) {
  core::Order o;
  Reader top(doc, "order.", error);

  if (const json* req = top.object("request")) {
    Reader r(*req, "order.request.", error);
    core::NewOrderRequest& q = o.request;
    q.client_order_id = r.str("client_order_id");
    q.account = r.str("account");
    q.broker = r.str("broker");
    q.symbol = r.str("symbol");
    q.side = r.enumeration("side", &core::side_from_string);
    q.quantity = core::Qty{r.decimal("quantity")};
    q.order_type = r.enumeration("order_type", &core::order_type_from_string);
    if (auto px = r.optional_decimal("limit_price")) q.limit_price = core::Price{*px};
    q.time_in_force = r.enumeration("time_in_force", &core::time_in_force_from_string);
  }
  o.state = top.enumeration("state", &core::order_state_from_string);
  o.state_before_pending = top.enumeration("state_before_pending", &core::order_state_from_string);
  o.cum_qty = core::Qty{top.decimal("cum_qty")};
  o.leaves_qty = core::Qty{top.decimal("leaves_qty")};
  o.cum_notional = top.notional("cum_notional");
  o.avg_price = core::Price{top.decimal("avg_price")};
  o.broker_order_id = top.str("broker_order_id");
  o.cancel_id = top.str("cancel_id");
  o.reject_reason = top.str("reject_reason");
  o.send_attempts = static_cast<std::uint32_t>(
      top.u64("send_attempts", std::numeric_limits<std::uint32_t>::max()));
  o.acknowledged = top.boolean("acknowledged");
  if (auto b = top.optional_decimal("broker_cum_qty")) o.broker_cum_qty = core::Qty{*b};
  o.unverified = top.optional_boolean("unverified");
  o.created_us = top.i64("created_us");
  o.updated_us = top.i64("updated_us");
  if (const json* history = top.array("history")) {
    for (std::size_t i = 0; i < history->size(); ++i) {
      const json& entry = (*history)[i];
      std::string name = "history[" + std::to_string(i) + "]";
      if (!entry.is_object()) {
        top.fail(name, "not an object");
        break;
      }
      Reader t(entry, "order." + name + ".", error);
      core::Transition tr;
      tr.at_us = t.i64("at_us");
      tr.state = t.enumeration("state", &core::order_state_from_string);
      tr.reason = t.str("reason");
      if (!error.empty()) break;
      o.history.push_back(std::move(tr));
    }
  }
  return o;
}

}  // namespace

std::string encode_order(const VersionedOrder& record) {
  json doc = json::object();
  doc["version"] = record.version;
  doc["order"] = encode_order_doc(record.order);
  std::vector<std::uint8_t> bytes = json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

Result<VersionedOrder> decode_order(std::string_view bytes) {
  Result<json> doc = parse_cbor(bytes);
  if (!doc) return tl::unexpected(doc.error());
  std::string error;
  VersionedOrder out;
  Reader top(*doc, "", error);
  out.version = top.u64("version", std::numeric_limits<std::uint64_t>::max());
  if (error.empty() && out.version == 0) top.fail("version", "zero (versions start at 1)");
  if (const json* order = top.object("order")) out.order = decode_order_doc(*order, error);
  if (!error.empty()) return store_error(StoreErrc::kCorrupt, std::move(error));
  return out;
}

std::string encode_cancel(const CancelRecord& record) {
  json doc = json::object();
  doc["client_cancel_id"] = record.client_cancel_id;
  doc["client_order_id"] = record.client_order_id;
  doc["created_us"] = record.created_us;
  std::vector<std::uint8_t> bytes = json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

Result<CancelRecord> decode_cancel(std::string_view bytes) {
  Result<json> doc = parse_cbor(bytes);
  if (!doc) return tl::unexpected(doc.error());
  std::string error;
  Reader r(*doc, "cancel.", error);
  CancelRecord out;
  out.client_cancel_id = r.str("client_cancel_id");
  out.client_order_id = r.str("client_order_id");
  out.created_us = r.i64("created_us");
  if (!error.empty()) return store_error(StoreErrc::kCorrupt, std::move(error));
  return out;
}

std::string encode_event(const StoredEvent& event) {
  json doc = json::object();
  doc["seq"] = event.seq;
  doc["type"] = event.type;
  doc["broker"] = event.broker;
  doc["account"] = event.account;
  doc["client_order_id"] = event.client_order_id;
  doc["at_us"] = event.at_us;
  doc["body"] = event.body;
  std::vector<std::uint8_t> bytes = json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

Result<StoredEvent> decode_event(std::string_view bytes) {
  Result<json> doc = parse_cbor(bytes);
  if (!doc) return tl::unexpected(doc.error());
  std::string error;
  Reader r(*doc, "event.", error);
  StoredEvent out;
  out.seq = r.u64("seq", std::numeric_limits<std::uint64_t>::max());
  if (error.empty() && out.seq == 0) r.fail("seq", "zero (sequence numbers start at 1)");
  out.type = r.str("type");
  out.broker = r.str("broker");
  out.account = r.str("account");
  out.client_order_id = r.str("client_order_id");
  out.at_us = r.i64("at_us");
  out.body = r.str("body");
  if (!error.empty()) return store_error(StoreErrc::kCorrupt, std::move(error));
  return out;
}

std::string encode_retry(const RetryEntry& entry) {
  json doc = json::object();
  doc["client_order_id"] = entry.client_order_id;
  doc["due_us"] = entry.due_us;
  doc["attempt"] = entry.attempt;
  // "action" and the step's name: the field and the names of the schedule before steps had an
  // enum ("timeout", "status_query", "resend"), so older records read unchanged.
  doc["action"] = core::to_string(entry.step);
  doc["deadline_us"] = entry.deadline_us;
  if (entry.deadline_us != 0) doc["deadline_us"] = entry.deadline_us;
  std::vector<std::uint8_t> bytes = json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

Result<RetryEntry> decode_retry(std::string_view bytes) {
  Result<json> doc = parse_cbor(bytes);
  if (!doc) return tl::unexpected(doc.error());
  std::string error;
  Reader r(*doc, "retry.", error);
  RetryEntry out;
  out.client_order_id = r.str("client_order_id");
  out.due_us = r.i64("due_us");
  out.attempt =
      static_cast<std::uint32_t>(r.u64("attempt", std::numeric_limits<std::uint32_t>::max()));
  out.step = r.enumeration("action", &core::step_from_string);
  // Absent in the records of a build before Wait::deadline_us: 0, "due_us is the deadline".
  out.deadline_us = r.optional_i64("deadline_us").value_or(0);
  if (doc->contains("deadline_us")) out.deadline_us = r.i64("deadline_us");
  if (!error.empty()) return store_error(StoreErrc::kCorrupt, std::move(error));
  return out;
}

namespace {
json optional_decimal_doc(const std::optional<core::Decimal>& d) {
  return d ? json(d->to_string()) : json(nullptr);
}
}  // namespace

std::string encode_exec(const ExecRecord& record) {
  json doc = json::object();
  doc["seen_us"] = record.seen_us;
  doc["exec_type"] = record.content.exec_type;
  doc["last_qty"] = optional_decimal_doc(record.content.last_qty);
  doc["last_px"] = optional_decimal_doc(record.content.last_px);
  doc["cum_qty"] = optional_decimal_doc(record.content.cum_qty);
  doc["booked_qty"] = record.booked_qty.value.to_string();
  doc["booked_px"] = record.booked_px.value.to_string();
  doc["busted"] = record.busted;
  std::vector<std::uint8_t> bytes = json::to_cbor(doc);
  return std::string(bytes.begin(), bytes.end());
}

Result<ExecRecord> decode_exec(std::string_view bytes) {
  Result<json> doc = parse_cbor(bytes);
  if (!doc) return tl::unexpected(doc.error());
  std::string error;
  Reader r(*doc, "exec.", error);
  ExecRecord out;
  out.seen_us = r.i64("seen_us");
  out.content.exec_type = r.str("exec_type");
  out.content.last_qty = r.optional_decimal("last_qty");
  out.content.last_px = r.optional_decimal("last_px");
  out.content.cum_qty = r.optional_decimal("cum_qty");
  out.booked_qty = core::Qty{r.decimal("booked_qty")};
  out.booked_px = core::Price{r.decimal("booked_px")};
  out.busted = r.boolean("busted");
  if (!error.empty()) return store_error(StoreErrc::kCorrupt, std::move(error));
  return out;
}

}  // namespace brokergw::store::codec
