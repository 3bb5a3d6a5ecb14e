// Test helper for store_crash_test: `store_crash_writer <dir> [id-prefix]` inserts orders (and,
// in the same write, their broker-order-id index entries and one event each, advancing the
// published cursor behind them) from several threads with write_and_wait, and prints
// "<client_order_id> <event seq>" on stdout only after the write is durable. It never stops by
// itself before its safety limit; the test SIGKILLs it mid-write. Dies with its parent.
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/core/order.h"
#include "store/store.h"

namespace core = brokergw::core;

namespace {

using brokergw::store::Status;
using brokergw::store::StoredEvent;
using brokergw::store::WriteTxn;

constexpr int kThreads = 4;
constexpr int kMaxPerThread = 200000;  // safety limit if nobody kills us

bool write_line(const std::string& line) {
  // One write() per line: pipe writes below PIPE_BUF are atomic, so lines never interleave.
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(STDOUT_FILENO, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

core::Order make(const std::string& id) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "acc-crash";
  r.broker = "sim";
  r.symbol = "AAPL";
  r.quantity = core::Qty{core::Decimal::from_units(1)};
  core::Order o = core::make_order(r, 1'700'000'000'000'000);
  o.reject_reason.assign(200, 'r');  // some bulk, so a commit spans several pages
  return o;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <dir> [id-prefix]\n", argv[0]);
    return 2;
  }
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() == 1) return 2;  // the test is already gone
  const std::string prefix = argc > 2 ? argv[2] : "p" + std::to_string(::getpid()) + "-";

  auto opened = brokergw::store::open_lmdb_store({argv[1], 256ull << 20, 64});
  if (!opened) {
    std::fprintf(stderr, "open failed: %s\n", opened.error().detail.c_str());
    return 3;
  }
  brokergw::store::Store& store = **opened;

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, &prefix, t] {
      for (int i = 0; i < kMaxPerThread; ++i) {
        const std::string id = prefix + "t" + std::to_string(t) + "-" + std::to_string(i);
        const core::Order order = make(id);
        auto seq = store.write_and_wait<std::uint64_t>(
            [&order, &id](WriteTxn& txn, std::optional<std::uint64_t>& out) -> Status {
              if (auto r = txn.insert_order(order); !r) return r;
              if (auto r = txn.put_broker_order_id("sim", "B-" + id, id); !r) return r;
              StoredEvent e;
              e.type = "order.new";
              e.broker = "sim";
              e.account = order.request.account;
              e.client_order_id = id;
              e.at_us = order.created_us;
              e.body = std::string(100, 'b');
              auto appended = txn.append_event(e);
              if (!appended) return tl::unexpected(appended.error());
              // As if Kafka confirmed everything up to half-way (monotonic, never ahead).
              if (auto r = txn.set_published_seq(*appended / 2); !r) return r;
              out = *appended;
              return {};
            });
        if (!seq) {
          std::fprintf(stderr, "write %s failed: %s\n", id.c_str(), seq.error().detail.c_str());
          std::_Exit(4);
        }
        if (!write_line(id + " " + std::to_string(*seq) + "\n")) std::_Exit(5);
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
