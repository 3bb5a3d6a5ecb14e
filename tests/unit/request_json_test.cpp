// Unit tests of the internal API's JSON parsing and rendering (gateway/intake/request_json).
// The random-input test prints its seed; set BROKERGW_TEST_SEED=<seed> to replay a run.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "gateway/intake/request_json.h"

namespace brokergw::intake {
namespace {

using nlohmann::json;

bool known_broker(std::string_view name) { return name == "sim" || name == "ib"; }

json valid_limit() {
  return {{"client_order_id", "ord-0001"},
          {"account", "ACC-1"},
          {"broker", "sim"},
          {"symbol", "AAPL"},
          {"side", "buy"},
          {"quantity", "100"},
          {"order_type", "limit"},
          {"limit_price", "187.25"},
          {"time_in_force", "gtc"}};
}

json valid_market() {
  json j = valid_limit();
  j["order_type"] = "market";
  j.erase("limit_price");
  j.erase("time_in_force");
  return j;
}

auto parse(const json& body) { return parse_new_order(body.dump(), known_broker); }

std::string describe(const std::vector<FieldError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "{" + e.field + ": " + e.reason + "} ";
  return out;
}

core::Decimal dec(std::string_view text) { return core::Decimal::parse(text).value(); }

TEST(ParseNewOrder, AcceptsAValidLimitOrder) {
  auto r = parse(valid_limit());
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->client_order_id, "ord-0001");
  EXPECT_EQ(r->account, "ACC-1");
  EXPECT_EQ(r->broker, "sim");
  EXPECT_EQ(r->symbol, "AAPL");
  EXPECT_EQ(r->side, core::Side::kBuy);
  EXPECT_EQ(r->quantity, core::Qty{dec("100")});
  EXPECT_EQ(r->order_type, core::OrderType::kLimit);
  EXPECT_EQ(r->limit_price, core::Price{dec("187.25")});
  EXPECT_EQ(r->time_in_force, core::TimeInForce::kGtc);
}

TEST(ParseNewOrder, MarketOrderDefaultsToDay) {
  auto r = parse(valid_market());
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->order_type, core::OrderType::kMarket);
  EXPECT_FALSE(r->limit_price.has_value());
  EXPECT_EQ(r->time_in_force, core::TimeInForce::kDay);
}

TEST(ParseNewOrder, AcceptsEveryEnumValueAndTheWidestIds) {
  for (const char* side : {"buy", "sell", "sell_short"}) {
    for (const char* tif : {"day", "gtc", "ioc", "fok"}) {
      json j = valid_limit();
      j["side"] = side;
      j["time_in_force"] = tif;
      j["client_order_id"] = "aZ09._:/-" + std::string(55, 'q');
      j["account"] = "aZ09._-" + std::string(25, 'a');
      j["symbol"] = "BRK.B/X-1" + std::string(15, 'S');
      j["quantity"] = "0.00000001";
      auto r = parse(j);
      ASSERT_TRUE(r) << side << " " << tif << ": " << describe(r.error());
      EXPECT_EQ(core::to_string(r->side), side);
      EXPECT_EQ(core::to_string(r->time_in_force), tif);
    }
  }
}

struct FieldCase {
  std::string field;  // field to change
  json value;         // new value; a discarded json removes the field
  std::string reason;
};

json removed() { return json(json::value_t::discarded); }

TEST(ParseNewOrder, NamesEachBadField) {
  const std::vector<FieldCase> cases = {
      {"client_order_id", removed(), "is required"},
      {"client_order_id", nullptr, "is required"},
      {"client_order_id", 17, "must be a string"},
      {"client_order_id", "", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
      {"client_order_id", std::string(65, 'a'),
       "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
      {"client_order_id", "ord 1", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
      {"client_order_id", "ord\u00e9", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
      {"client_order_id", "ord|1", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
      {"account", removed(), "is required"},
      {"account", std::string(33, 'a'), "must be 1 to 32 characters of A-Z a-z 0-9 . _ -"},
      {"account", "acc:1", "must be 1 to 32 characters of A-Z a-z 0-9 . _ -"},
      {"account", json::array({"ACC-1"}), "must be a string"},
      {"broker", removed(), "is required"},
      {"broker", "nope", "is not a known broker"},
      {"broker", "SIM", "is not a known broker"},
      {"broker", 1, "must be a string"},
      {"symbol", removed(), "is required"},
      {"symbol", std::string(25, 'A'), "must be 1 to 24 characters of A-Z a-z 0-9 . / -"},
      {"symbol", "AAPL US", "must be 1 to 24 characters of A-Z a-z 0-9 . / -"},
      {"symbol", "AAPL:US", "must be 1 to 24 characters of A-Z a-z 0-9 . / -"},
      {"side", removed(), "is required"},
      {"side", "BUY", "must be one of buy, sell, sell_short"},
      {"side", "short", "must be one of buy, sell, sell_short"},
      {"quantity", removed(), "is required"},
      {"quantity", nullptr, "is required"},
      {"quantity", 100, "must be a decimal string, e.g. \"100\""},
      {"quantity", 100.5, "must be a decimal string, e.g. \"100\""},
      {"quantity", true, "must be a decimal string, e.g. \"100\""},
      {"quantity", "0", "must be greater than 0"},
      {"quantity", "0.00000000", "must be greater than 0"},
      {"quantity", "-5", "must be greater than 0"},
      {"quantity", "1.123456789", "must have at most 8 fraction digits"},
      {"quantity", "99999999999", "is too large"},
      {"quantity", "1e3", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", "", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", " 1", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", "1.", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", ".5", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", "+1", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", "1,5", "must be a decimal number such as \"100\" or \"0.25\""},
      {"quantity", "NaN", "must be a decimal number such as \"100\" or \"0.25\""},
      {"order_type", removed(), "is required"},
      {"order_type", "stop", "must be one of market, limit"},
      {"limit_price", removed(), "is required for a limit order"},
      {"limit_price", nullptr, "is required for a limit order"},
      {"limit_price", 187.25, "must be a decimal string, e.g. \"187.25\""},
      {"limit_price", "0", "must be greater than 0"},
      {"limit_price", "-1.5", "must be greater than 0"},
      {"limit_price", "187.123456789", "must have at most 8 fraction digits"},
      {"time_in_force", "GTC", "must be one of day, gtc, ioc, fok"},
      {"time_in_force", 1, "must be a string"},
      {"price", "187.25", "unknown field"},
      {"", "x", "unknown field"},
  };
  for (const auto& c : cases) {
    json body = valid_limit();
    if (c.value.is_discarded()) {
      body.erase(c.field);
    } else {
      body[c.field] = c.value;
    }
    SCOPED_TRACE(body.dump());
    auto r = parse(body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), (std::vector<FieldError>{{c.field, c.reason}})) << describe(r.error());
  }
}

TEST(ParseNewOrder, LimitPriceIsForbiddenForMarketOrders) {
  json body = valid_market();
  body["limit_price"] = "1";
  auto r = parse(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            (std::vector<FieldError>{{"limit_price", "must not be set for a market order"}}));
}

TEST(ParseNewOrder, NullOptionalFieldsCountAsAbsent) {
  json body = valid_market();
  body["limit_price"] = nullptr;
  body["time_in_force"] = nullptr;
  auto r = parse(body);
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_FALSE(r->limit_price.has_value());
  EXPECT_EQ(r->time_in_force, core::TimeInForce::kDay);
}

TEST(ParseNewOrder, ReportsEveryBadFieldAtOnce) {
  const json body = {{"client_order_id", "bad id"},
                     {"account", "ACC-1"},
                     {"broker", "nyse"},
                     {"side", "hold"},
                     {"quantity", 100},
                     {"order_type", "limit"},
                     {"colour", "red"},
                     {"zzz", 1}};
  auto r = parse(body);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            (std::vector<FieldError>{
                {"client_order_id", "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -"},
                {"broker", "is not a known broker"},
                {"symbol", "is required"},
                {"side", "must be one of buy, sell, sell_short"},
                {"quantity", "must be a decimal string, e.g. \"100\""},
                {"limit_price", "is required for a limit order"},
                {"colour", "unknown field"},
                {"zzz", "unknown field"},
            }));
}

TEST(ParseNewOrder, DuplicateFieldsAreErrors) {
  const std::string body =
      R"({"client_order_id":"o1","account":"A","broker":"sim","symbol":"X","side":"buy",)"
      R"("quantity":"1","order_type":"market","quantity":"1000"})";
  auto r = parse_new_order(body, known_broker);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), (std::vector<FieldError>{{"quantity", "duplicate field"}}));
}

TEST(ParseNewOrder, BadBodiesAreReportedAgainstTheEmptyField) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "request body is empty"},
      {" \n\t", "request body is empty"},
      {"{", "invalid JSON at byte 2"},
      {"{\"a\":}", "invalid JSON at byte 6"},
      {"{} x", "invalid JSON at byte 4"},
      {"{\"a\":1e999}", "invalid JSON"},
      {"{\"a\":\"\xff\"}", "invalid JSON at byte 7"},
      {"[]", "request body must be a JSON object"},
      {"null", "request body must be a JSON object"},
      {"\"order\"", "request body must be a JSON object"},
      {"42", "request body must be a JSON object"},
  };
  for (const auto& [body, reason] : cases) {
    SCOPED_TRACE(body);
    auto r = parse_new_order(body, known_broker);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), (std::vector<FieldError>{{"", reason}})) << describe(r.error());
    auto c = parse_cancel(body);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), (std::vector<FieldError>{{"", reason}})) << describe(c.error());
  }
}

TEST(ParseNewOrder, ManyUnknownFieldsAreSummarised) {
  json body = valid_market();
  for (int i = 0; i < 40; ++i) body["extra" + std::to_string(100 + i)] = i;
  body[std::string(200, 'k')] = 1;
  auto r = parse(body);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 17u) << describe(r.error());
  EXPECT_EQ(r.error()[0], (FieldError{"extra100", "unknown field"}));
  EXPECT_EQ(r.error()[16], (FieldError{"", "more unknown or duplicate fields not listed"}));
}

TEST(ParseNewOrder, LongUnknownNamesAreCutOnACodePoint) {
  json body = valid_market();
  body[std::string(63, 'k') + "\u00e9\u00e9"] = 1;  // a 2-byte character straddles byte 64
  auto r = parse(body);
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().size(), 1u);
  EXPECT_EQ(r.error()[0].field, std::string(63, 'k') + "...");
  EXPECT_NO_THROW((void)errors_to_json("invalid_request", "x", r.error()).dump());
}

TEST(ParseNewOrder, NoBrokerFunctionKnowsNoBroker) {
  auto r = parse_new_order(valid_market().dump(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), (std::vector<FieldError>{{"broker", "is not a known broker"}}));
}

// Idempotent replay compares parsed requests, so equal values written differently are equal.
TEST(ParseNewOrder, EqualValuesParseEqual) {
  json a = valid_limit();
  json b = valid_limit();
  b["quantity"] = "100.0";
  b["limit_price"] = "187.25000000";
  auto ra = parse(a);
  auto rb = parse(b);
  ASSERT_TRUE(ra && rb);
  EXPECT_EQ(*ra, *rb);

  // Field order and whitespace do not matter either.
  const std::string reordered =
      " {\"time_in_force\":\"gtc\", \"limit_price\":\"187.250\",\"order_type\":\"limit\","
      "\"quantity\":\"0100\",\"side\":\"buy\",\"symbol\":\"AAPL\",\"broker\":\"sim\","
      "\"account\":\"ACC-1\",\"client_order_id\":\"ord-0001\"}\n";
  auto rc = parse_new_order(reordered, known_broker);
  ASSERT_TRUE(rc) << describe(rc.error());
  EXPECT_EQ(*ra, *rc);

  // An explicit "day" is the default.
  json d = valid_market();
  json e = valid_market();
  e["time_in_force"] = "day";
  EXPECT_EQ(*parse(d), *parse(e));

  b["quantity"] = "100.00000001";
  EXPECT_NE(*ra, *parse(b));
}

TEST(ParseNewOrder, RenderedRequestParsesBackEqual) {
  for (const json& body : {valid_limit(), valid_market()}) {
    auto r = parse(body);
    ASSERT_TRUE(r);
    auto again = parse_new_order(to_body(new_order_to_json(*r)), known_broker);
    ASSERT_TRUE(again) << describe(again.error());
    EXPECT_EQ(*again, *r);
    json expected = body;
    if (!expected.contains("time_in_force")) expected["time_in_force"] = "day";
    EXPECT_EQ(new_order_to_json(*r), expected);
  }
}

TEST(ParseCancel, AcceptsAValidCancel) {
  auto r = parse_cancel(R"({"client_cancel_id":"cxl-0001/a:b.c_d"})");
  ASSERT_TRUE(r) << describe(r.error());
  EXPECT_EQ(r->client_cancel_id, "cxl-0001/a:b.c_d");
}

TEST(ParseCancel, NamesEachBadField) {
  const std::string charset = "must be 1 to 64 characters of A-Z a-z 0-9 . _ : / -";
  const std::vector<std::pair<std::string, std::vector<FieldError>>> cases = {
      {"{}", {{"client_cancel_id", "is required"}}},
      {R"({"client_cancel_id":null})", {{"client_cancel_id", "is required"}}},
      {R"({"client_cancel_id":7})", {{"client_cancel_id", "must be a string"}}},
      {R"({"client_cancel_id":""})", {{"client_cancel_id", charset}}},
      {R"({"client_cancel_id":"a b"})", {{"client_cancel_id", charset}}},
      {"{\"client_cancel_id\":\"" + std::string(65, 'c') + "\"}", {{"client_cancel_id", charset}}},
      {R"({"client_cancel_id":"c1","reason":"x"})", {{"reason", "unknown field"}}},
      {R"({"client_cancel_id":"c1","client_cancel_id":"c2"})",
       {{"client_cancel_id", "duplicate field"}}},
      {R"({"id":"c1"})", {{"client_cancel_id", "is required"}, {"id", "unknown field"}}},
  };
  for (const auto& [body, errors] : cases) {
    SCOPED_TRACE(body);
    auto r = parse_cancel(body);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errors) << describe(r.error());
  }
}

TEST(FormatTimestamp, IsRfc3339UtcWithMicroseconds) {
  EXPECT_EQ(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(1714566896000123), "2024-05-01T12:34:56.000123Z");
  EXPECT_EQ(format_timestamp(951782400000000), "2000-02-29T00:00:00.000000Z");
  EXPECT_EQ(format_timestamp(1709251199999999), "2024-02-29T23:59:59.999999Z");
  EXPECT_EQ(format_timestamp(253402300799999999), "9999-12-31T23:59:59.999999Z");
  // Out of RFC 3339's range, but still formatted without overflow.
  EXPECT_FALSE(format_timestamp(INT64_MIN).empty());
  EXPECT_FALSE(format_timestamp(INT64_MAX).empty());
}

TEST(OrderToJson, RendersEveryField) {
  core::Order o = core::make_order(*parse(valid_limit()), 1714566896000001);
  o.state = core::OrderState::kPartiallyFilled;
  o.cum_qty = core::Qty{dec("40")};
  o.leaves_qty = core::Qty{dec("60")};
  o.avg_price = core::Price{dec("187.2")};
  o.broker_order_id = "SIM-1";
  o.send_attempts = 1;
  o.updated_us = 1714566897500000;
  o.history.push_back({1714566897000000, core::OrderState::kNew, "ack"});
  o.history.push_back({1714566897500000, core::OrderState::kPartiallyFilled, "fill"});

  const json expected = {
      {"client_order_id", "ord-0001"},
      {"account", "ACC-1"},
      {"broker", "sim"},
      {"symbol", "AAPL"},
      {"side", "buy"},
      {"quantity", "100"},
      {"order_type", "limit"},
      {"limit_price", "187.25"},
      {"time_in_force", "gtc"},
      {"state", "partially_filled"},
      {"cum_qty", "40"},
      {"leaves_qty", "60"},
      {"avg_price", "187.2"},
      {"broker_order_id", "SIM-1"},
      {"cancel_id", ""},
      {"reject_reason", ""},
      {"send_attempts", 1},
      {"broker_cum_qty", "0"},
      {"fills_missing", false},
      {"unverified", false},
      {"version", 7},
      {"created_at", "2024-05-01T12:34:56.000001Z"},
      {"updated_at", "2024-05-01T12:34:57.500000Z"},
      {"history", json::array({
                      {{"at", "2024-05-01T12:34:56.000001Z"},
                       {"state", "pending_new"},
                       {"reason", o.history[0].reason}},
                      {{"at", "2024-05-01T12:34:57.000000Z"}, {"state", "new"}, {"reason", "ack"}},
                      {{"at", "2024-05-01T12:34:57.500000Z"},
                       {"state", "partially_filled"},
                       {"reason", "fill"}},
                  })},
  };
  EXPECT_EQ(order_to_json(o, 7), expected) << order_to_json(o, 7).dump(2);
}

TEST(OrderToJson, MarketOrderHasNoLimitPrice) {
  const json j = order_to_json(core::make_order(*parse(valid_market()), 0), 1);
  EXPECT_FALSE(j.contains("limit_price"));
  EXPECT_EQ(j["time_in_force"], "day");
  EXPECT_EQ(j["avg_price"], "0");
}

TEST(OrderToJson, BrokerTextWithInvalidUtf8StillRenders) {
  core::Order o = core::make_order(*parse(valid_market()), 0);
  o.reject_reason = "bad \xff\xfe text";
  const json j = order_to_json(o, 1);
  std::string body;
  ASSERT_NO_THROW(body = to_body(j));
  EXPECT_NE(body.find("bad \xEF\xBF\xBD\xEF\xBF\xBD text"), std::string::npos) << body;
}

TEST(ErrorsToJson, HasCodeMessageAndFields) {
  EXPECT_EQ(errors_to_json("invalid_request", "the order has invalid fields",
                           {{"quantity", "must be a decimal string, e.g. \"100\""}, {"", "x"}}),
            json::parse(R"({"error":{"code":"invalid_request",
                "message":"the order has invalid fields",
                "fields":[{"field":"quantity","reason":"must be a decimal string, e.g. \"100\""},
                          {"field":"","reason":"x"}]}})"));
  EXPECT_EQ(errors_to_json("not_found", "no such order"),
            json::parse(R"({"error":{"code":"not_found","message":"no such order","fields":[]}})"));
}

// ---- Random input ---------------------------------------------------------------------------

std::uint64_t test_seed() {
  if (const char* s = std::getenv("BROKERGW_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return (static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

  char interesting_byte() {
    static constexpr std::string_view kBytes =
        "{}[]\":,\\ \t\n.-+e0123456789abnulltrufs\x00\xff\xc3";
    return below(4) == 0 ? static_cast<char>(rng_()) : kBytes[below(kBytes.size())];
  }

  std::string mutate(std::string s, const std::vector<std::string>& corpus) {
    const std::size_t rounds = 1 + below(4);
    for (std::size_t i = 0; i < rounds; ++i) {
      const std::size_t at = below(s.size() + 1);
      switch (below(6)) {
        case 0:
          if (!s.empty()) s[below(s.size())] = interesting_byte();
          break;
        case 1:
          s.insert(at, 1, interesting_byte());
          break;
        case 2:
          s.erase(at, below(8));
          break;
        case 3:
          s.insert(at, s.substr(below(s.size() + 1), below(16)));
          break;
        case 4: {
          const std::string& other = corpus[below(corpus.size())];
          s = s.substr(0, at) + other.substr(below(other.size() + 1));
          break;
        }
        default:
          s.resize(below(s.size() + 1));
          break;
      }
    }
    return s;
  }

  json random_value(int depth = 0) {
    switch (below(depth > 2 ? 6 : 8)) {
      case 0:
        return nullptr;
      case 1:
        return below(2) == 0;
      case 2:
        return static_cast<std::int64_t>(rng_());
      case 3:
        return static_cast<double>(rng_() % 100000) / 7.0;
      case 4:
        return random_decimal_text();
      case 5:
        return random_text();
      case 6: {
        json a = json::array();
        for (std::size_t i = below(4); i > 0; --i) a.push_back(random_value(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (std::size_t i = below(4); i > 0; --i) o[random_text()] = random_value(depth + 1);
        return o;
      }
    }
  }

  std::string random_decimal_text() {
    std::string s = below(5) == 0 ? "-" : "";
    for (std::size_t i = below(14); i > 0; --i) s += static_cast<char>('0' + below(10));
    if (below(2) == 0) {
      s += '.';
      for (std::size_t i = below(12); i > 0; --i) s += static_cast<char>('0' + below(10));
    }
    return s;
  }

  std::string random_text() {
    static constexpr std::string_view kWords[] = {
        "buy", "sell", "sell_short", "market", "limit", "day", "gtc", "ioc", "fok", "sim", "ord-1"};
    if (below(2) == 0) return std::string(kWords[below(std::size(kWords))]);
    std::string s;
    for (std::size_t i = below(70); i > 0; --i) s += static_cast<char>(' ' + below(95));
    return s;
  }

  json random_order() {
    static constexpr std::string_view kFields[] = {
        "client_order_id", "account",     "broker",        "symbol",           "side", "quantity",
        "order_type",      "limit_price", "time_in_force", "client_cancel_id", "extra"};
    json o = valid_limit();
    for (std::size_t i = below(5); i > 0; --i) {
      const std::string field(kFields[below(std::size(kFields))]);
      if (below(4) == 0) {
        o.erase(field);
      } else {
        o[field] = random_value();
      }
    }
    return o;
  }

 private:
  std::mt19937_64 rng_;
};

// What must hold for any input: no exception escapes, an accepted request is well formed and
// survives a round trip, a refusal names at least one problem and renders as an error body.
void check_any_input(const std::string& body) {
  tl::expected<core::NewOrderRequest, std::vector<FieldError>> order;
  ASSERT_NO_THROW(order = parse_new_order(body, known_broker));
  if (order) {
    ASSERT_TRUE(order->quantity.value.is_positive());
    ASSERT_EQ(order->limit_price.has_value(), order->order_type == core::OrderType::kLimit);
    auto again = parse_new_order(to_body(new_order_to_json(*order)), known_broker);
    ASSERT_TRUE(again);
    ASSERT_EQ(*again, *order);
  } else {
    ASSERT_FALSE(order.error().empty());
    ASSERT_NO_THROW((void)to_body(errors_to_json("invalid_request", "x", order.error())));
  }
  tl::expected<CancelRequest, std::vector<FieldError>> cancel;
  ASSERT_NO_THROW(cancel = parse_cancel(body));
  if (!cancel) {
    ASSERT_FALSE(cancel.error().empty());
    ASSERT_NO_THROW((void)to_body(errors_to_json("invalid_request", "x", cancel.error())));
  }
}

TEST(RandomInput, NeverThrowsAndKeepsItsPromises) {
  const std::uint64_t seed = test_seed();
  std::cout << "seed " << seed << " (replay with BROKERGW_TEST_SEED=" << seed << ")\n";
  RecordProperty("seed", std::to_string(seed));
  SCOPED_TRACE("BROKERGW_TEST_SEED=" + std::to_string(seed));
  Mutator m(seed);

  const std::vector<std::string> corpus = {valid_limit().dump(), valid_market().dump(),
                                           R"({"client_cancel_id":"cxl-1"})", "{}", "[]"};
  int accepted = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string body = m.mutate(corpus[m.below(corpus.size())], corpus);
    ASSERT_NO_FATAL_FAILURE(check_any_input(body))
        << "mutated body: " << json(body).dump(-1, ' ', true, json::error_handler_t::replace);
  }
  for (int i = 0; i < 2000; ++i) {
    const std::string body = m.random_order().dump(-1, ' ', false, json::error_handler_t::replace);
    ASSERT_NO_FATAL_FAILURE(check_any_input(body)) << body;
    accepted += parse_new_order(body, known_broker).has_value() ? 1 : 0;
  }
  for (int i = 0; i < 1000; ++i) {
    std::string body;
    for (std::size_t n = m.below(200); n > 0; --n) body += m.interesting_byte();
    ASSERT_NO_FATAL_FAILURE(check_any_input(body));
  }
  std::cout << accepted << " of 2000 structured random orders were accepted\n";
}

}  // namespace
}  // namespace brokergw::intake
