// bench_floor_lmdb: the durability floor (docs/BENCHMARKS.md).
//
// 1. Raw LMDB, one synced commit per write: mdb_put of a 300-byte value + mdb_txn_commit with
//    LMDB's default (synced) flags, in a loop. commits/s is what "one fsync per order" allows.
// 2. For reference, our store (store/store.h, group commit) with 1 sequential writer and with
//    N concurrent writers, each inserting orders with write_and_wait.
//
// Everything runs in a scratch directory under the temp directory (the filesystem the gateway
// benchmark's state lives on). Single-threaded main, plus the writer threads of part 2.
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/bench_util.h"
#include "gateway/core/order.h"
#include "store/store.h"

namespace {

using namespace brokergw;
using bench::mono_ns;

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + mdb_strerror(rc));
}

// An LMDB environment in `dir` with LMDB's default flags: every commit is synced (fdatasync).
struct RawEnv {
  MDB_env* env = nullptr;
  MDB_dbi dbi = 0;
  explicit RawEnv(const std::string& dir) {
    std::filesystem::create_directories(dir);
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, 1ull << 30), "mdb_env_set_mapsize");
    check(mdb_env_open(env, dir.c_str(), 0, 0600), "mdb_env_open");
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, nullptr, 0, &dbi), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
  }
  ~RawEnv() { mdb_env_close(env); }
  RawEnv(const RawEnv&) = delete;
  RawEnv& operator=(const RawEnv&) = delete;
};

void big_endian_key(std::uint64_t n, unsigned char (&key)[8]) {
  for (int i = 0; i < 8; ++i) key[i] = static_cast<unsigned char>(n >> (56 - 8 * i));
}

nlohmann::json raw_lmdb(const std::string& dir, double seconds, std::size_t value_bytes) {
  RawEnv raw(dir);
  MDB_env* env = raw.env;
  const MDB_dbi dbi = raw.dbi;
  std::string value(value_bytes, 'v');
  const double cpu_before = bench::process_cpu_ms(::getpid());
  const double system_before = bench::system_busy_ms();
  std::vector<std::int64_t> latencies;
  latencies.reserve(200000);
  const std::int64_t start = mono_ns();
  const auto deadline = start + static_cast<std::int64_t>(seconds * 1e9);
  std::uint64_t n = 0;
  std::int64_t now = start;
  while (now < deadline) {
    unsigned char key[8];
    big_endian_key(n, key);
    std::memcpy(value.data(), &n, sizeof n);
    const std::int64_t t0 = mono_ns();
    MDB_txn* txn = nullptr;
    check(mdb_txn_begin(env, nullptr, 0, &txn), "mdb_txn_begin");
    MDB_val k{sizeof key, key};
    MDB_val v{value.size(), value.data()};
    check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
    check(mdb_txn_commit(txn), "mdb_txn_commit");
    now = mono_ns();
    latencies.push_back(now - t0);
    ++n;
  }
  const double cpu_ms = bench::process_cpu_ms(::getpid()) - cpu_before;
  const double cpu_us = cpu_ms * 1000.0 / n;
  const double elapsed_s = static_cast<double>(now - start) / 1e9;
  // Everything else that ran meanwhile, as a share of all CPUs.
  const double other_share = std::max(0.0, bench::system_busy_ms() - system_before - cpu_ms) /
                             (elapsed_s * 1000.0 * std::thread::hardware_concurrency());
  const auto lat = bench::summarize_ns(std::move(latencies));
  const double rate = static_cast<double>(n) / elapsed_s;
  std::cout << "raw LMDB, one synced commit per " << value_bytes
            << "-byte put: " << static_cast<long>(rate) << " commits/s, "
            << bench::round_to(cpu_us, 1) << " us CPU per commit, other load "
            << static_cast<int>(other_share * 100) << "% of the CPUs; commit latency "
            << bench::describe(lat) << "\n";
  return {{"commits", n},
          {"cpu_us_per_commit", bench::round_to(cpu_us, 1)},
          {"other_cpu_share", bench::round_to(other_share, 3)},
          {"seconds", bench::round_to(elapsed_s, 3)},
          {"value_bytes", value_bytes},
          {"commits_per_s", bench::round_to(rate, 1)},
          {"commit_latency", bench::to_json(lat)}};
}

// Puts of `batch` values per synced commit, each put in its own nested transaction or all in
// the parent: what a nested transaction per write function costs (the store's group commit
// runs every write function in one, store/lmdb_store.cpp).
nlohmann::json raw_batched(const std::string& dir, double seconds, std::size_t value_bytes,
                           std::size_t batch, bool nested) {
  RawEnv raw(dir);
  std::string value(value_bytes, 'v');
  const double cpu_before = bench::process_cpu_ms(::getpid());
  const std::int64_t start = mono_ns();
  const auto deadline = start + static_cast<std::int64_t>(seconds * 1e9);
  std::uint64_t n = 0;
  std::uint64_t commits = 0;
  std::int64_t now = start;
  while (now < deadline) {
    MDB_txn* parent = nullptr;
    check(mdb_txn_begin(raw.env, nullptr, 0, &parent), "mdb_txn_begin");
    for (std::size_t i = 0; i < batch; ++i, ++n) {
      unsigned char key[8];
      big_endian_key(n, key);
      std::memcpy(value.data(), &n, sizeof n);
      MDB_val k{sizeof key, key};
      MDB_val v{value.size(), value.data()};
      MDB_txn* txn = parent;
      if (nested) check(mdb_txn_begin(raw.env, parent, 0, &txn), "mdb_txn_begin (nested)");
      check(mdb_put(txn, raw.dbi, &k, &v, 0), "mdb_put");
      if (nested) check(mdb_txn_commit(txn), "mdb_txn_commit (nested)");
    }
    check(mdb_txn_commit(parent), "mdb_txn_commit");
    ++commits;
    now = mono_ns();
  }
  const double cpu_us = (bench::process_cpu_ms(::getpid()) - cpu_before) * 1000.0 / n;
  const double rate = static_cast<double>(n) / (static_cast<double>(now - start) / 1e9);
  std::cout << "raw LMDB, " << batch << " puts per synced commit, "
            << (nested ? "each in a nested transaction" : "no nested transactions") << ": "
            << static_cast<long>(rate) << " puts/s, " << bench::round_to(cpu_us, 1)
            << " us CPU per put\n";
  return {{"batch", batch},
          {"nested", nested},
          {"puts", n},
          {"commits", commits},
          {"puts_per_s", bench::round_to(rate, 1)},
          {"cpu_us_per_put", bench::round_to(cpu_us, 1)}};
}

core::Order make_bench_order(const std::string& id, core::TimestampUs now) {
  core::NewOrderRequest r;
  r.client_order_id = id;
  r.account = "ACC-BENCH";
  r.broker = "sim";
  r.symbol = "BENCH";
  r.side = core::Side::kBuy;
  r.quantity = core::Qty{core::Decimal::from_units(100)};
  r.order_type = core::OrderType::kLimit;
  r.limit_price = core::Price{*core::Decimal::parse("187.25")};
  r.time_in_force = core::TimeInForce::kDay;
  return core::make_order(r, now);
}

nlohmann::json our_store(const std::string& dir, int writers, double seconds) {
  store::LmdbOptions options;
  options.directory = dir;
  auto opened = store::open_lmdb_store(options);
  if (!opened) throw std::runtime_error("open_lmdb_store: " + opened.error().detail);
  std::unique_ptr<store::Store> db = std::move(*opened);
  const store::StoreStats before = db->stats();
  const double cpu_before = bench::process_cpu_ms(::getpid());

  std::atomic<std::uint64_t> failures{0};
  std::vector<std::vector<std::int64_t>> latencies(static_cast<std::size_t>(writers));
  const std::int64_t start = mono_ns();
  const auto deadline = start + static_cast<std::int64_t>(seconds * 1e9);
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      auto& mine = latencies[static_cast<std::size_t>(w)];
      for (std::uint64_t i = 0;; ++i) {
        const std::int64_t t0 = mono_ns();
        if (t0 >= deadline) break;
        core::Order order =
            make_bench_order("w" + std::to_string(w) + "-" + std::to_string(i), bench::wall_us());
        store::Status s = db->write_and_wait(
            [&order](store::WriteTxn& txn) -> store::Status { return txn.insert_order(order); });
        if (!s) failures++;
        mine.push_back(mono_ns() - t0);
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::int64_t end = mono_ns();
  const double cpu_ms = bench::process_cpu_ms(::getpid()) - cpu_before;
  const store::StoreStats after = db->stats();
  db->close();

  std::vector<std::int64_t> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  const std::uint64_t writes = after.writes - before.writes;
  const std::uint64_t commits = after.commits - before.commits;
  const double elapsed_s = static_cast<double>(end - start) / 1e9;
  const auto lat = bench::summarize_ns(std::move(all));
  const double rate = static_cast<double>(writes) / elapsed_s;
  const double per_commit = commits ? static_cast<double>(writes) / commits : 0.0;
  const double cpu_us = writes ? cpu_ms * 1000.0 / static_cast<double>(writes) : 0.0;
  std::cout << "store (group commit), " << writers << " writer(s): " << static_cast<long>(rate)
            << " writes/s, " << bench::round_to(per_commit, 1) << " writes per commit, "
            << bench::round_to(cpu_us, 1) << " us CPU per write; write latency "
            << bench::describe(lat) << "\n";
  return {{"writers", writers},
          {"writes", writes},
          {"commits", commits},
          {"failures", failures.load()},
          {"seconds", bench::round_to(elapsed_s, 3)},
          {"writes_per_s", bench::round_to(rate, 1)},
          {"writes_per_commit", bench::round_to(per_commit, 2)},
          {"cpu_us_per_write", bench::round_to(cpu_us, 1)},
          {"write_latency", bench::to_json(lat)}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench_floor_lmdb: one synced LMDB commit per write, and our group-commit store"};
  std::string json_path;
  double raw_seconds = 3.0;
  double store_seconds = 2.0;
  double batch_seconds = 1.0;
  int writers = 32;
  app.add_option("--json", json_path, "write the results to this file");
  app.add_option("--raw-seconds", raw_seconds, "duration of the raw LMDB loop")
      ->check(CLI::PositiveNumber);
  app.add_option("--batch-seconds", batch_seconds, "duration of each batched raw LMDB loop")
      ->check(CLI::PositiveNumber);
  app.add_option("--store-seconds", store_seconds, "duration of each store run")
      ->check(CLI::PositiveNumber);
  app.add_option("--writers", writers, "concurrent writers of the group-commit run")
      ->check(CLI::Range(1, 1024));
  CLI11_PARSE(app, argc, argv);

  try {
    bench::ScratchDir scratch("brokergw-bench-lmdb");
    nlohmann::json out;
    out["directory"] = scratch.path();
    out["raw_synced_commit"] = raw_lmdb(scratch.path() + "/raw", raw_seconds, 300);
    out["raw_batch_flat"] =
        raw_batched(scratch.path() + "/flat", batch_seconds, 300, 32, /*nested=*/false);
    out["raw_batch_nested"] =
        raw_batched(scratch.path() + "/nested", batch_seconds, 300, 32, /*nested=*/true);
    out["store_1_writer"] = our_store(scratch.path() + "/store1", 1, store_seconds);
    out["store_n_writers"] = our_store(scratch.path() + "/storeN", writers, store_seconds);
    if (!json_path.empty()) bench::write_json_file(json_path, out);
  } catch (const std::exception& e) {
    std::cerr << "bench_floor_lmdb: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
