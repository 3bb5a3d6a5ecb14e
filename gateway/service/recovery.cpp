#include "gateway/service/recovery.h"

#include <algorithm>
#include <cstdlib>
#include <future>

#include <spdlog/spdlog.h>

#include "gateway/service/carry_out.h"
#include "gateway/service/lane.h"

namespace brokergw::service {
namespace {
constexpr std::size_t kChunk = 256;

struct Counts {
  std::size_t total = 0, unknown = 0, in_flight = 0, requeue = 0;
};

void recover_broker(Shared& shared, const std::string& broker, core::TimestampUs now, Counts& n) {
  std::string after;
  while (true) {
    std::vector<std::string> ids;
    auto st = shared.store.read([&](store::ReadTxn& txn) {
      return txn.for_each_open_order(broker, after, [&](const store::VersionedOrder& vo) {
        ids.push_back(vo.order.request.client_order_id);
        return ids.size() < kChunk;
      });
    });
    if (!st) {
      spdlog::critical("recovery: cannot read open orders: {}", st.error().detail);
      std::abort();
    }
    if (ids.empty()) break;
    after = ids.back();
    std::vector<std::shared_ptr<std::optional<Carried>>> results;
    std::vector<std::future<store::Status>> done;
    for (const auto& id : ids) {
      auto res = std::make_shared<std::optional<Carried>>();
      results.push_back(res);
      auto promise = std::make_shared<std::promise<store::Status>>();
      done.push_back(promise->get_future());
      shared.store.submit(
          [&shared, id, res, now](store::WriteTxn& txn) -> store::Status {
            auto current = txn.get_order(id);
            if (!current) return tl::unexpected(current.error());
            Lane* lane = shared.lane_for(current->order.request.broker);
            if (!lane) return {};
            auto wait = read_wait(txn, id);
            if (!wait) return tl::unexpected(wait.error());
            core::Decision d = core::decide_restart(current->order, *wait, lane->rules(), now);
            Carried c;
            if (auto s = carry_out(txn, *current, *wait, std::move(d), nullptr, now, c); !s) {
              return s;
            }
            *res = std::move(c);
            return {};
          },
          [promise](store::Status s) { promise->set_value(std::move(s)); });
    }
    for (std::size_t i = 0; i < done.size(); ++i) {
      store::Status s = done[i].get();
      if (!s) {
        spdlog::critical("recovery: cannot recover {}: {} {}", ids[i],
                         store::to_string(s.error().code), s.error().detail);
        std::abort();
      }
      ++n.total;
      if (!*results[i]) continue;
      const Carried& c = **results[i];
      after_commit(shared, c, now);
      switch (c.decision.reason) {
        case core::Reason::kInFlightAtRestart:
          ++n.in_flight;
          break;
        case core::Reason::kRequeue:
          ++n.requeue;
          break;
        default:
          break;
      }
      if (c.order.state == core::OrderState::kUnknownAtBroker) ++n.unknown;
    }
    if (ids.size() < kChunk) break;
  }
}
}  // namespace

void recover(Shared& shared) {
  const core::TimestampUs now = shared.clock();
  Counts n;
  for (auto& [name, lane] : shared.lanes) recover_broker(shared, name, now, n);
  std::size_t all = n.total;
  auto st = shared.store.read([&](store::ReadTxn& txn) -> store::Status {
    auto c = txn.count_open_orders("");
    if (!c) return tl::unexpected(c.error());
    all = *c;
    return {};
  });
  if (st && all > n.total) {
    spdlog::error("recovery: {} open orders are for brokers that are no longer configured",
                  all - n.total);
  }
  // Never-sent orders go out through their lane's walk, as the lane has room.
  for (auto& [name, lane] : shared.lanes) lane->request_walk(true, false);
  spdlog::info(
      "recovery: {} open orders: {} in flight at the restart (now unknown), {} unknown in all, "
      "{} to send, {} for brokers no longer configured",
      n.total, n.in_flight, n.unknown, n.requeue, all - std::min(all, n.total));
}

}  // namespace brokergw::service
