// The store's record codec (orders, cancels, events, retries): lossless round trips, and bad
// bytes give kCorrupt with a detail (never a crash), including seeded random mutations of
// valid records.
#include <cstdint>
#include <functional>
#include <iostream>
#include <random>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/core/order.h"
#include "gateway/core/resolution.h"
#include "store/order_codec.h"

namespace brokergw::store {
namespace {

using core::Decimal;
using nlohmann::json;

core::Order full_order() {
  core::NewOrderRequest r;
  r.client_order_id = "CL-1";
  r.account = "acc";
  r.broker = "brk";
  r.symbol = "BRK.B";
  r.side = core::Side::kSellShort;
  r.quantity = core::Qty{*Decimal::parse("1234.5")};
  r.order_type = core::OrderType::kLimit;
  r.limit_price = core::Price{*Decimal::parse("0.00000001")};
  r.time_in_force = core::TimeInForce::kGtc;
  core::Order o = core::make_order(r, -5);  // negative time survives too
  o.state = core::OrderState::kPendingCancel;
  o.state_before_pending = core::OrderState::kPartiallyFilled;
  o.cum_qty = core::Qty{*Decimal::parse("1000")};
  o.leaves_qty = core::Qty{*Decimal::parse("234.5")};
  o.cum_notional =
      core::notional_of(o.cum_qty, core::Price{*Decimal::parse("92233720368.54775807")});
  o.avg_price = core::Price{*Decimal::parse("92233720368.54775807")};
  o.broker_order_id = std::string("\xff\xfe OrderID\0with nul", 18);  // not UTF-8
  o.cancel_id = "CX-1";
  o.reject_reason = "caf\xe9";  // latin-1 from a broker's Text field
  o.send_attempts = 4294967295u;
  o.acknowledged = true;
  o.updated_us = INT64_MAX;
  o.history.push_back(core::Transition{7, core::OrderState::kNew, "ack"});
  o.history.push_back(core::Transition{8, core::OrderState::kPendingCancel, ""});
  return o;
}

TEST(StoreCodec, OrderRoundTripIsLossless) {
  core::Order o = full_order();
  VersionedOrder in{o, 18446744073709551615ull};
  auto out = codec::decode_order(codec::encode_order(in));
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(out->version, in.version);
  EXPECT_EQ(out->order, in.order);

  core::Order market = o;
  market.request.order_type = core::OrderType::kMarket;
  market.request.limit_price.reset();
  market.history.clear();
  auto out2 = codec::decode_order(codec::encode_order({market, 1}));
  ASSERT_TRUE(out2) << out2.error().detail;
  EXPECT_EQ(out2->order, market);
}

TEST(StoreCodec, CancelRoundTrip) {
  CancelRecord c{"CX-\x01", "CL-1", -1};
  auto out = codec::decode_cancel(codec::encode_cancel(c));
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(out->client_cancel_id, c.client_cancel_id);
  EXPECT_EQ(out->client_order_id, c.client_order_id);
  EXPECT_EQ(out->created_us, c.created_us);
  EXPECT_EQ(codec::decode_cancel("").error().code, StoreErrc::kCorrupt);
  EXPECT_EQ(codec::decode_cancel(codec::encode_order({full_order(), 1})).error().code,
            StoreErrc::kCorrupt);
}

TEST(StoreCodec, EventRoundTripIsLossless) {
  StoredEvent e;
  e.seq = 18446744073709551615ull;
  e.type = "order.fill";
  e.broker = "brk";
  e.account = "acc\xff";  // not UTF-8
  e.client_order_id = std::string("CL\0-1", 5);
  e.at_us = INT64_MIN;
  e.body = "{\"text\":\"caf\xe9\"}";
  auto out = codec::decode_event(codec::encode_event(e));
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(out->seq, e.seq);
  EXPECT_EQ(out->type, e.type);
  EXPECT_EQ(out->broker, e.broker);
  EXPECT_EQ(out->account, e.account);
  EXPECT_EQ(out->client_order_id, e.client_order_id);
  EXPECT_EQ(out->at_us, e.at_us);
  EXPECT_EQ(out->body, e.body);
  EXPECT_EQ(codec::decode_event("").error().code, StoreErrc::kCorrupt);
  EXPECT_EQ(codec::decode_event(codec::encode_cancel({"C", "O", 1})).error().code,
            StoreErrc::kCorrupt);
}

std::string to_bytes(const json& j) {
  auto v = json::to_cbor(j);
  return std::string(v.begin(), v.end());
}

TEST(StoreCodec, RetryRoundTripIsLossless) {
  RetryEntry r{"CL-\x01", -3, 4294967295u, core::Step::kDeadline, INT64_MIN};
  auto out = codec::decode_retry(codec::encode_retry(r));
  ASSERT_TRUE(out) << out.error().detail;
  EXPECT_EQ(*out, r);
  for (int i = 0; i < core::kStepCount; ++i) {
    const auto step = static_cast<core::Step>(i);
    const core::TimestampUs due = step == core::Step::kAttention ? core::kNeverDue : i;
    const RetryEntry e = RetryEntry::of("CL-2", core::Wait{step, due, 7, i * 1000});
    auto back = codec::decode_retry(codec::encode_retry(e));
    ASSERT_TRUE(back) << core::to_string(step) << ": " << back.error().detail;
    EXPECT_EQ(*back, e) << core::to_string(step);
    EXPECT_EQ(back->wait(), e.wait());
  }
  EXPECT_EQ(codec::decode_retry("\xa0").error().code, StoreErrc::kCorrupt);  // {}
}

// The step is stored by name under "action": the records of a store written before steps had
// an enum ("timeout", "status_query", "resend") read unchanged.
TEST(StoreCodec, RetryStepIsStoredByItsName) {
  const json stored = json::from_cbor(
      codec::encode_retry(RetryEntry{"CL-1", core::kNeverDue, 3, core::Step::kAttention}));
  EXPECT_EQ(stored.at("action"), "attention");
  EXPECT_EQ(stored.at("due_us"), core::kNeverDue);
  const std::pair<const char*, core::Step> old_names[] = {
      {"timeout", core::Step::kDeadline},
      {"status_query", core::Step::kQuery},
      {"resend", core::Step::kResend},
  };
  for (const auto& [name, step] : old_names) {
    json doc = {{"client_order_id", "OLD-1"}, {"due_us", 1700}, {"attempt", 2}, {"action", name}};
    auto r = codec::decode_retry(to_bytes(doc));
    ASSERT_TRUE(r) << name << ": " << r.error().detail;
    EXPECT_EQ(*r, (RetryEntry{"OLD-1", 1700, 2, step, 0})) << name;  // no deadline_us: 0
  }
}

// Decodes a valid record after `edit` changed its document; expects kCorrupt naming `field`.
void expect_corrupt(const std::function<void(json&)>& edit, const std::string& field) {
  std::string bytes = codec::encode_order({full_order(), 3});
  json doc = json::from_cbor(bytes);
  edit(doc);
  auto r = codec::decode_order(to_bytes(doc));
  ASSERT_FALSE(r) << field;
  EXPECT_EQ(r.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(r.error().detail.find(field), std::string::npos)
      << "detail \"" << r.error().detail << "\" should name " << field;
}

TEST(StoreCodec, BadFieldsAreNamed) {
  expect_corrupt([](json& d) { d["version"] = 0; }, "version");
  expect_corrupt([](json& d) { d["version"] = -1; }, "version");
  expect_corrupt([](json& d) { d.erase("order"); }, "order");
  expect_corrupt([](json& d) { d["order"]["state"] = "bogus"; }, "order.state");
  expect_corrupt([](json& d) { d["order"]["cum_qty"] = "1e5"; }, "order.cum_qty");
  expect_corrupt([](json& d) { d["order"]["cum_qty"] = 5; }, "order.cum_qty");
  expect_corrupt([](json& d) { d["order"]["cum_notional"] = "1.5"; }, "order.cum_notional");
  expect_corrupt([](json& d) { d["order"]["request"]["side"] = "up"; }, "order.request.side");
  expect_corrupt([](json& d) { d["order"]["request"].erase("symbol"); }, "order.request.symbol");
  expect_corrupt([](json& d) { d["order"]["request"]["limit_price"] = "x"; },
                 "order.request.limit_price");
  expect_corrupt([](json& d) { d["order"]["send_attempts"] = 4294967296ull; },
                 "order.send_attempts");
  expect_corrupt([](json& d) { d["order"]["updated_us"] = 9223372036854775808ull; },
                 "order.updated_us");
  expect_corrupt([](json& d) { d["order"]["acknowledged"] = 1; }, "order.acknowledged");
  expect_corrupt([](json& d) { d["order"]["history"] = json::object(); }, "order.history");
  expect_corrupt([](json& d) { d["order"]["history"][1] = 3; }, "history[1]");
  expect_corrupt([](json& d) { d["order"]["history"][0]["state"] = "x"; },
                 "order.history[0].state");
}

// Decodes an edited valid event or retry record; expects kCorrupt naming `field`.
template <class Decode>
void expect_corrupt_doc(const std::string& valid, Decode decode,
                        const std::function<void(json&)>& edit, const std::string& field) {
  json doc = json::from_cbor(valid);
  edit(doc);
  auto r = decode(to_bytes(doc));
  ASSERT_FALSE(r) << field;
  EXPECT_EQ(r.error().code, StoreErrc::kCorrupt);
  EXPECT_NE(r.error().detail.find(field), std::string::npos)
      << "detail \"" << r.error().detail << "\" should name " << field;
}

TEST(StoreCodec, BadEventAndRetryFieldsAreNamed) {
  StoredEvent e;
  e.seq = 5;
  e.type = "order.fill";
  const std::string event = codec::encode_event(e);
  auto ev = [](std::string_view b) { return codec::decode_event(b); };
  expect_corrupt_doc(
      event, ev, [](json& d) { d["seq"] = 0; }, "event.seq");
  expect_corrupt_doc(
      event, ev, [](json& d) { d["seq"] = -1; }, "event.seq");
  expect_corrupt_doc(
      event, ev, [](json& d) { d.erase("type"); }, "event.type");
  expect_corrupt_doc(
      event, ev, [](json& d) { d["body"] = json::object(); }, "event.body");
  expect_corrupt_doc(
      event, ev, [](json& d) { d["at_us"] = "now"; }, "event.at_us");

  const std::string retry = codec::encode_retry(RetryEntry{"CL-1", 5, 1, core::Step::kResend});
  auto rv = [](std::string_view b) { return codec::decode_retry(b); };
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["attempt"] = 4294967296ull; }, "retry.attempt");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["attempt"] = -1; }, "retry.attempt");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d.erase("due_us"); }, "retry.due_us");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["action"] = 1; }, "retry.action");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["action"] = "retry_later"; }, "retry.action");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["action"] = ""; }, "retry.action");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d["deadline_us"] = "soon"; }, "retry.deadline_us");
  expect_corrupt_doc(
      retry, rv, [](json& d) { d.erase("client_order_id"); }, "retry.client_order_id");
}

TEST(StoreCodec, MalformedBytesAreCorruptNotFatal) {
  for (const std::string& bytes :
       {std::string(), std::string("\x00", 1), std::string("{\"version\":1}"),
        std::string("\xa1\x61"), std::string(100000, '\x81'),    // deep nesting
        std::string("\x9b\xff\xff\xff\xff\xff\xff\xff\xff", 9),  // huge array
        std::string("\xbb\x7f\xff\xff\xff\xff\xff\xff\xff", 9),  // huge map
        std::string("\x7b\x7f\xff\xff\xff\xff\xff\xff\xff", 9),  // huge string
        std::string("\xc1\x00", 2),                              // a tag
        to_bytes(json::array()), to_bytes(json(5))}) {
    auto r = codec::decode_order(bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, StoreErrc::kCorrupt);
    EXPECT_FALSE(r.error().detail.empty());
    EXPECT_EQ(codec::decode_event(bytes).error().code, StoreErrc::kCorrupt);
    EXPECT_EQ(codec::decode_retry(bytes).error().code, StoreErrc::kCorrupt);
  }
  // Trailing bytes after a valid record.
  EXPECT_FALSE(codec::decode_order(codec::encode_order({full_order(), 1}) + "x"));
}

TEST(StoreCodec, RandomMutationsNeverCrash) {
  const std::uint64_t seed = std::random_device{}();
  std::cout << "StoreCodec.RandomMutationsNeverCrash seed=" << seed << "\n";
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const std::string valid = codec::encode_order({full_order(), 9});
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = valid;
    switch (rng() % 3) {
      case 0:
        bytes.resize(rng() % bytes.size());
        break;
      case 1:
        for (int n = 1 + rng() % 4; n > 0; --n)
          bytes[rng() % bytes.size()] = static_cast<char>(rng());
        break;
      default:
        bytes.insert(rng() % bytes.size(), 1 + rng() % 8, static_cast<char>(rng()));
        break;
    }
    auto r = codec::decode_order(bytes);
    if (r) {
      ++decoded;  // a mutation that kept the record valid must still round-trip
      auto again = codec::decode_order(codec::encode_order(*r));
      ASSERT_TRUE(again);
      EXPECT_EQ(again->order, r->order);
    } else {
      ASSERT_EQ(r.error().code, StoreErrc::kCorrupt);
    }
  }
  std::cout << "  " << decoded << " of 20000 mutations still decoded\n";
}

}  // namespace
}  // namespace brokergw::store
