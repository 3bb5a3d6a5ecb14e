// Randomized property test for gateway/core/order_machine.h. Random event sequences (small
// random fills, random statuses, every other event) are applied from a printed seed; after
// every step the invariants and monotonic properties must hold.
//
// Replay a failure with BROKERGW_SEED=<seed> (the seed is printed at the start of each run and
// in every failure's trace).
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/seeded.h"

#include "gateway/core/order_machine.h"

namespace brokergw::core {
namespace {

constexpr int kSequencesPerSeed = 300;
constexpr int kStepsPerSequence = 80;

using proptest::kDefaultSeed;
using proptest::Rng;
using proptest::seeds;

// Quantities: mostly whole units, sometimes a fractional mantissa.
Qty random_qty(Rng& rng, std::int64_t max_units) {
  if (rng.one_in(4)) return Qty{Decimal::from_mantissa(1 + rng.below(max_units * Decimal::kOne))};
  return Qty{Decimal::from_units(1 + rng.below(max_units))};
}

Price random_price(Rng& rng) {
  // Two decimal places, up to 500; zero is a legal price.
  return Price{Decimal::from_mantissa(rng.below(50'000) * 1'000'000)};
}

std::string random_broker_id(Rng& rng) {
  static const std::array<const char*, 3> ids = {"B-1", "B-2", ""};
  return ids[static_cast<std::size_t>(rng.below(static_cast<std::int64_t>(ids.size())))];
}

OrderEvent random_event(Rng& rng, const Order& o) {
  const std::int64_t qty_units = o.request.quantity.value.mantissa() / Decimal::kOne + 1;
  // Fills are several times as likely as any other event so that orders actually fill up
  // (busts and corrections take fills back, and status answers never book any).
  const std::int64_t pick = rng.below(kOrderEventCount + 6);
  switch (pick < kOrderEventCount ? pick : 2) {
    case 0:
      return EvSendAttempt{};
    case 1:
      return EvAck{random_broker_id(rng)};
    case 2: {
      EvFill f{"E" + std::to_string(rng.next() % 100000), random_broker_id(rng),
               random_qty(rng, 20), random_price(rng)};
      // Often exactly what is left, so that orders reach Filled.
      const Decimal left = o.request.quantity.value - o.cum_qty.value;
      if (rng.one_in(4) && left.is_positive()) f.last_qty = Qty{left};
      if (rng.one_in(30)) f.last_qty = Qty{Decimal::from_mantissa(-rng.below(3))};  // invalid
      if (rng.one_in(30)) f.last_px = Price{Decimal::from_mantissa(-1 - rng.below(5))};
      return f;
    }
    case 3:
      return EvReject{"r"};
    case 4:
      return EvCancelRequested{"C" + std::to_string(rng.below(100))};
    case 5:
      return EvCanceled{""};
    case 6:
      return EvCancelRejected{"x"};
    case 7:
      return EvReplaceRequested{"R"};
    case 8:
      return EvReplaced{};
    case 9:
      return EvReplaceRejected{"x"};
    case 10:
      return EvExpired{};
    case 11:
      return EvTimeout{};
    case 13:  // a bust of up to the booked quantity (or a little more: refused)
      return EvBust{"E1", random_qty(rng, qty_units / 2 + 2), random_price(rng)};
    case 14:
      return EvCorrect{"E1", random_qty(rng, qty_units / 2 + 2), random_price(rng),
                       random_qty(rng, qty_units / 2 + 2), random_price(rng)};
    case 15:
      return EvRestated{"r"};
    default: {
      EvStatus s;
      s.broker_state = static_cast<OrderState>(rng.below(kOrderStateCount));
      s.broker_order_id = random_broker_id(rng);
      // Around our cum, below it, up to the full quantity and a little beyond.
      s.cum_qty = rng.one_in(3)
                      ? o.request.quantity
                      : Qty{Decimal::from_mantissa(rng.below(qty_units + 3) * Decimal::kOne)};
      s.avg_price = random_price(rng);
      return s;
    }
  }
}

// The invariants of check_invariants, restated independently so a break is a test failure with
// the seed attached rather than an abort.
std::string violation(const Order& o) {
  const Decimal qty = o.request.quantity.value;
  const Decimal cum = o.cum_qty.value;
  if (cum.mantissa() < 0) return "cum < 0";
  if (cum > qty) return "cum > quantity";
  const Decimal leaves = is_terminal(o.state) ? Decimal{} : qty - cum;
  if (o.leaves_qty.value != leaves) return "leaves";
  if (o.state == OrderState::kFilled && cum != qty) return "filled short";
  if (o.history.empty()) return "history empty";
  if (o.history.back().state != o.state) return "history last state";
  if (o.history.size() > kMaxHistory) return "history too long";
  if (o.history.front().reason != "created") return "history lost its first entry";
  if (o.avg_price != average_price(o.cum_notional, o.cum_qty)) return "avg";
  return "";
}

struct Coverage {
  std::array<int, kOrderStateCount> states_seen{};
  std::array<int, kOrderEventCount> applied{};
  std::array<int, kOrderEventCount> refused{};
};

void run_sequence(Rng& rng, Coverage& cov, std::uint64_t seed, int sequence) {
  NewOrderRequest req;
  req.client_order_id = "CL-" + std::to_string(sequence);
  req.quantity = random_qty(rng, 150);
  Order order = make_order(req, 1'000);
  Decimal model_cum;  // what the accepted fills and statuses say cum must be

  for (int step = 0; step < kStepsPerSequence; ++step) {
    const OrderEvent ev = random_event(rng, order);
    SCOPED_TRACE(testing::Message()
                 << "BROKERGW_SEED=" << seed << " sequence=" << sequence << " step=" << step
                 << " state=" << to_string(order.state) << " event=" << event_name(ev));
    const Order snapshot = order;
    const TimestampUs now = 2'000 + step;
    const auto r = apply(order, ev, now);
    ASSERT_EQ(order, snapshot) << "apply modified its input";

    if (!r) {
      ++cov.refused[ev.index()];
      ASSERT_FALSE(r.error().detail.empty());
      continue;  // the caller keeps `order`, identical to before
    }
    ++cov.applied[ev.index()];
    const Order& next = r->order;
    ASSERT_EQ(violation(next), "");
    const bool adjusts =
        std::holds_alternative<EvBust>(ev) || std::holds_alternative<EvCorrect>(ev);
    if (!adjusts) ASSERT_GE(next.cum_qty, order.cum_qty) << "cum went down";
    // Only a bust or correction of a Filled order brings a terminal order back to life.
    if (is_terminal(order.state) && !(adjusts && order.state == OrderState::kFilled)) {
      ASSERT_TRUE(is_terminal(next.state))
          << to_string(order.state) << " -> " << to_string(next.state);
    }
    ASSERT_EQ(r->state_changed, next.state != order.state);
    if (order.acknowledged) ASSERT_TRUE(next.acknowledged);
    if (!order.broker_order_id.empty()) ASSERT_EQ(next.broker_order_id, order.broker_order_id);
    ASSERT_GE(next.send_attempts, order.send_attempts);
    ASSERT_EQ(next.created_us, order.created_us);
    if (next.state != order.state || next.cum_qty != order.cum_qty) {
      ASSERT_EQ(next.history.back().at_us, now);
      ASSERT_EQ(next.updated_us, now);
    }
    if (!r->anomaly.empty()) ASSERT_EQ(r->anomaly.rfind("fill_after_", 0), 0U) << r->anomaly;

    if (const auto* f = std::get_if<EvFill>(&ev)) model_cum = model_cum + f->last_qty.value;
    // A status answer never books the broker's total.
    if (const auto* b = std::get_if<EvBust>(&ev)) model_cum = model_cum - b->last_qty.value;
    if (const auto* c = std::get_if<EvCorrect>(&ev)) {
      model_cum = model_cum - c->old_qty.value + c->new_qty.value;
    }
    ASSERT_EQ(next.cum_qty.value, model_cum);

    order = next;
    ++cov.states_seen[static_cast<int>(order.state)];
  }
}

TEST(OrderMachineProperty, RandomSequencesKeepInvariants) {
  Coverage cov;
  for (const std::uint64_t seed : seeds()) {
    // Printed up front as well: a broken invariant inside apply() aborts before any trace.
    std::printf("[ seed     ] BROKERGW_SEED=%llu\n", static_cast<unsigned long long>(seed));
    std::fflush(stdout);
    Rng rng(seed);
    for (int sequence = 0; sequence < kSequencesPerSeed; ++sequence) {
      run_sequence(rng, cov, seed, sequence);
      if (HasFatalFailure()) return;
    }
  }
  // The generator must actually reach every state and exercise both outcomes of the events
  // that can be refused; otherwise the properties above prove little.
  for (int s = 0; s < kOrderStateCount; ++s) {
    EXPECT_GT(cov.states_seen[s], 0) << to_string(static_cast<OrderState>(s)) << " never reached";
  }
  for (int e = 0; e < kOrderEventCount; ++e) {
    EXPECT_GT(cov.applied[e], 0) << "event " << e << " never applied";
    // EvAck, EvTimeout and EvRestated are always applied; so is EvStatus now that it never
    // books quantities, except when it is malformed.
    const bool never_refused = e == 1 || e == 11 || e == 15;
    if (!never_refused) EXPECT_GT(cov.refused[e], 0) << "event " << e << " never refused";
  }
}

}  // namespace
}  // namespace brokergw::core
