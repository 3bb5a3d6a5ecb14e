// Intake: new orders and cancels from the internal API, answered once durable.
//
// Threads: API threads; each call blocks only on the store's group commit.
//
// Invariants: an order is stored (pending_new) before anything is sent, and only when its
// lane has a slot for it (else "broker busy" and nothing is stored); the same ClOrdID with
// the same request answers the stored order and sends nothing again; a different request is
// a conflict and changes nothing. A cancel of a sent order gets its deadline in the same
// transaction, so a cancel that never leaves the gateway still times out and is resolved.
#include <spdlog/spdlog.h>

#include "gateway/service/carry_out.h"
#include "gateway/service/lane.h"
#include "gateway/service/order_service.h"

namespace brokergw::service {

using store::StoreErrc;
using store::VersionedOrder;
using store::WriteTxn;

SubmitOutcome OrderService::submit(const core::NewOrderRequest& request) {
  SubmitOutcome out;
  Lane* lane = shared_->lane_for(request.broker);
  if (!lane) {
    out.status = SubmitStatus::kUnknownOrder;
    out.detail = "unknown broker";
    return out;
  }
  if (!lane->try_reserve()) {
    // Idempotent replays must still answer when the queue is full.
    auto existing = get(request.client_order_id);
    if (existing) {
      out.status =
          existing->order.request == request ? SubmitStatus::kReplayed : SubmitStatus::kConflict;
      out.order = std::move(*existing);
      return out;
    }
    shared_->metrics.broker_busy++;
    shared_->metrics.lane_full++;
    out.status = SubmitStatus::kBrokerBusy;
    out.detail = "broker " + request.broker + " has " + std::to_string(lane->capacity()) +
                 " orders waiting; retry later";
    return out;
  }
  const core::TimestampUs now = shared_->clock();
  auto result = shared_->store.write_and_wait<SubmitOutcome>(
      [&](WriteTxn& txn, std::optional<SubmitOutcome>& res) -> store::Status {
        SubmitOutcome o;
        auto existing = txn.get_order(request.client_order_id);
        if (existing) {
          o.status = existing->order.request == request ? SubmitStatus::kReplayed
                                                        : SubmitStatus::kConflict;
          o.order = std::move(*existing);
          res = std::move(o);
          return {};
        }
        if (existing.error().code != StoreErrc::kNotFound) return tl::unexpected(existing.error());
        if (auto as_cancel = txn.get_cancel(request.client_order_id); as_cancel) {
          o.status = SubmitStatus::kConflict;
          o.detail = "client_order_id is already used as a client_cancel_id";
          res = std::move(o);
          return {};
        }
        core::Order order = core::make_order(request, now);
        if (auto s = txn.insert_order(order); !s) return s;
        o.status = SubmitStatus::kCreated;
        o.order = VersionedOrder{std::move(order), 1};
        res = std::move(o);
        return {};
      });
  if (!result) {
    lane->release_reservation();
    out.status = SubmitStatus::kStoreError;
    out.store_error = result.error();
    spdlog::error("submit {}: store error {}: {}", request.client_order_id,
                  store::to_string(result.error().code), result.error().detail);
    return out;
  }
  out = std::move(*result);
  if (out.status == SubmitStatus::kCreated) {
    shared_->metrics.orders_created++;
    lane->push_reserved({core::Send::kNewOrder, request.client_order_id});
  } else {
    lane->release_reservation();
    if (out.status == SubmitStatus::kReplayed) shared_->metrics.orders_replayed++;
    if (out.status == SubmitStatus::kConflict) shared_->metrics.order_conflicts++;
  }
  return out;
}

SubmitOutcome OrderService::cancel(const std::string& client_order_id,
                                   const std::string& client_cancel_id) {
  const core::TimestampUs now = shared_->clock();
  std::optional<Carried> carried;
  auto result = shared_->store.write_and_wait<SubmitOutcome>(
      [&](WriteTxn& txn, std::optional<SubmitOutcome>& res) -> store::Status {
        SubmitOutcome o;
        if (auto prior = txn.get_cancel(client_cancel_id); prior) {
          auto order = txn.get_order(prior->client_order_id);
          if (!order) return tl::unexpected(order.error());
          o.status = prior->client_order_id == client_order_id ? SubmitStatus::kReplayed
                                                               : SubmitStatus::kConflict;
          if (o.status == SubmitStatus::kConflict) {
            o.detail = "client_cancel_id already used for order " + prior->client_order_id;
          }
          o.order = std::move(*order);
          res = std::move(o);
          return {};
        } else if (prior.error().code != StoreErrc::kNotFound) {
          return tl::unexpected(prior.error());
        }
        if (auto clash = txn.get_order(client_cancel_id); clash) {
          o.status = SubmitStatus::kConflict;
          o.detail = "client_cancel_id is already used as a client_order_id";
          res = std::move(o);
          return {};
        }
        auto current = txn.get_order(client_order_id);
        if (!current) {
          if (current.error().code != StoreErrc::kNotFound) return tl::unexpected(current.error());
          o.status = SubmitStatus::kUnknownOrder;
          res = std::move(o);
          return {};
        }
        auto applied = core::apply(current->order, core::EvCancelRequested{client_cancel_id}, now);
        if (!applied) {
          o.status = SubmitStatus::kRefused;
          o.refusal = applied.error();
          o.order = std::move(*current);
          res = std::move(o);
          return {};
        }
        if (auto s = txn.insert_cancel({client_cancel_id, client_order_id, now}); !s) return s;
        auto wait = read_wait(txn, client_order_id);
        if (!wait) return tl::unexpected(wait.error());
        // The cancel's answer is due within the broker's ack timeout, like an order's.
        core::Decision d;
        d.reason = core::Reason::kNone;
        d.order = applied->order;
        Lane* lane = shared_->lane_for(applied->order.request.broker);
        if (lane && core::awaits_broker(applied->order)) {
          d.schedule = core::ScheduleOp::kSet;
          d.wait = {
              core::Step::kDeadline,
              now +
                  static_cast<core::TimestampUs>(lane->policy().rules.policy.ack_timeout_ms) * 1000,
              *wait ? (*wait)->attempt : 0};
        }
        Carried c;
        if (auto s = carry_out(txn, *current, *wait, std::move(d), nullptr, now, c); !s) return s;
        o.status = SubmitStatus::kCreated;
        o.order = VersionedOrder{c.order, c.version};
        carried = std::move(c);
        res = std::move(o);
        return {};
      });
  SubmitOutcome out;
  if (!result) {
    out.status = SubmitStatus::kStoreError;
    out.store_error = result.error();
    return out;
  }
  out = std::move(*result);
  if (out.status == SubmitStatus::kCreated) {
    shared_->metrics.cancels_accepted++;
    if (carried) after_commit(*shared_, *carried, now);
    if (Lane* lane = shared_->lane_for(out.order->order.request.broker)) {
      // When the lane is full the cancel's deadline resolves it (nothing is lost).
      lane->try_push({core::Send::kCancel, client_order_id});
    }
  }
  return out;
}

}  // namespace brokergw::service
