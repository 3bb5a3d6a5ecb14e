// Crash consistency: store_crash_writer writes orders, each with an event in the same write,
// and prints each id and event seq once durable; we SIGKILL it mid-write after a random number
// of acknowledgements (seeded; set BROKERGW_TEST_SEED to replay), reopen the store and check
// that every acknowledged order and event is there, every record decodes, every broker_ids
// entry points to a stored order, the open-orders index and counts hold every order, the events are
// gap-free from 1 to last_event_seq (nothing is compacted here) with one event per order, and the
// published cursor never moved back or ahead. Five rounds on one directory, so each round also
// recovers from the previous kill.
#include <fcntl.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/integration/temp_dir.h"

extern char** environ;

namespace brokergw::store {
namespace {

using TempDir = ::brokergw::testing::TempDir;

std::uint64_t test_seed() {
  if (const char* s = std::getenv("BROKERGW_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

struct Round {
  std::map<std::string, std::uint64_t> acked;  // id -> event seq the writer reported durable
  std::string error;
};

// Starts the writer, collects acknowledgements until `target`, kills it, then drains what it
// printed before dying (those writes were durable too).
Round run_writer(const std::string& dir, const std::string& prefix, int target) {
  Round out;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {{}, "pipe failed"};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::string exe = STORE_CRASH_WRITER;
  char* argv[] = {exe.data(), const_cast<char*>(dir.c_str()), const_cast<char*>(prefix.c_str()),
                  nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return {{}, "spawn " + exe + ": " + std::strerror(rc)};
  }

  std::string pending;
  auto take_lines = [&] {
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      const std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      const std::size_t sp = line.find(' ');
      if (sp == std::string::npos) {
        out.error = "bad line from the writer: " + line;
        continue;
      }
      out.acked[line.substr(0, sp)] = std::strtoull(line.c_str() + sp + 1, nullptr, 10);
    }
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool eof = false;
  while (static_cast<int>(out.acked.size()) < target && !eof) {
    if (std::chrono::steady_clock::now() > deadline) {
      out.error = "writer too slow: " + std::to_string(out.acked.size()) + " acks in 60 s";
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    take_lines();
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (eof && out.error.empty()) {
    out.error = "writer exited early (status " + std::to_string(status) + ")";
  }
  // Drain: everything printed before the kill was acknowledged. A partial last line is not.
  for (;;) {
    char buf[4096];
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buf, static_cast<std::size_t>(n));
  }
  take_lines();
  ::close(fds[0]);
  return out;
}

// Every broker_ids entry points to a stored order (checked with LMDB itself: the store has no
// scan of that table). The store must be closed.
void check_broker_index(const std::string& dir, std::size_t* entries) {
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.c_str(), MDB_RDONLY, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
  MDB_dbi orders;
  MDB_dbi broker_ids;
  ASSERT_EQ(mdb_dbi_open(txn, "orders", 0, &orders), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "broker_ids", 0, &broker_ids), 0);
  MDB_cursor* cursor = nullptr;
  ASSERT_EQ(mdb_cursor_open(txn, broker_ids, &cursor), 0);
  MDB_val k;
  MDB_val v;
  *entries = 0;
  int rc = mdb_cursor_get(cursor, &k, &v, MDB_FIRST);
  for (; rc == 0; rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) {
    ++*entries;
    std::string key(static_cast<const char*>(k.mv_data), k.mv_size);
    std::string client_id(static_cast<const char*>(v.mv_data), v.mv_size);
    EXPECT_EQ(key, std::string("sim\0B-", 6) + client_id);
    MDB_val ok = {client_id.size(), client_id.data()};
    MDB_val ov;
    EXPECT_EQ(mdb_get(txn, orders, &ok, &ov), 0) << "broker_ids entry for missing " << client_id;
  }
  EXPECT_EQ(rc, MDB_NOTFOUND);
  mdb_cursor_close(cursor);
  mdb_txn_abort(txn);
  mdb_env_close(env);
}

TEST(StoreCrash, AcknowledgedWritesSurviveSigkill) {
  const std::uint64_t seed = test_seed();
  std::cout << "StoreCrash seed=" << seed << " (BROKERGW_TEST_SEED to replay)\n";
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  TempDir dir;
  std::map<std::string, std::uint64_t> acked;
  std::uint64_t published_before = 0;

  for (int round = 0; round < 5; ++round) {
    const int target = std::uniform_int_distribution<int>(1, 150)(rng);
    Round r = run_writer(dir.path(), "r" + std::to_string(round) + "-", target);
    ASSERT_TRUE(r.error.empty()) << "round " << round << ": " << r.error;
    ASSERT_GE(static_cast<int>(r.acked.size()), target);
    for (const auto& [id, seq] : r.acked) {
      EXPECT_TRUE(acked.emplace(id, seq).second) << id << " acknowledged twice";
    }

    std::size_t stored = 0;
    std::uint64_t last = 0;
    std::uint64_t published = 0;
    {
      auto opened = open_lmdb_store(LmdbOptions{dir.path(), 256ull << 20, 64});
      ASSERT_TRUE(opened) << opened.error().detail;
      Store& store = **opened;
      Status s = store.read([&](ReadTxn& t) -> Status {
        for (const auto& [id, seq] : acked) {
          auto o = t.get_order(id);
          EXPECT_TRUE(o) << "acknowledged " << id << " lost: " << o.error().detail;
        }
        // Events: 1..last without a gap, each for an order stored in the same write, and every
        // acknowledged one where the writer was told it is.
        last = t.last_event_seq().value();
        published = t.published_seq().value();
        EXPECT_EQ(t.first_event_seq().value(), last == 0 ? 0u : 1u);
        std::map<std::uint64_t, std::string> events;
        for (std::uint64_t cursor = 0;;) {
          auto page = t.events_after(cursor, 256);
          if (!page) return tl::unexpected(page.error());
          if (page->empty()) break;
          for (const StoredEvent& e : *page) {
            EXPECT_EQ(e.seq, cursor + 1) << "gap after event " << cursor;
            cursor = e.seq;
            events[e.seq] = e.client_order_id;
            EXPECT_TRUE(t.get_order(e.client_order_id))
                << "event " << e.seq << " for missing order " << e.client_order_id;
          }
        }
        EXPECT_EQ(events.size(), last);
        if (!events.empty()) EXPECT_EQ(events.rbegin()->first, last);
        for (const auto& [id, seq] : acked) {
          auto it = events.find(seq);
          EXPECT_TRUE(it != events.end() && it->second == id)
              << "acknowledged event " << seq << " of " << id << " lost";
        }
        // Every record decodes, and each order's index entry came with it (same write).
        Status each = t.for_each_order([&](const VersionedOrder& o) {
          ++stored;
          const std::string& id = o.order.request.client_order_id;
          auto b = t.find_by_broker_order_id("sim", "B-" + id);
          EXPECT_TRUE(b && *b == id) << "order " << id << " has no broker index entry";
          return true;
        });
        if (!each) return each;
        // So did its open-orders entry and count (every order the writer stores is open).
        std::size_t open = 0;
        Status walk = t.for_each_open_order("sim", "", [&](const VersionedOrder&) {
          ++open;
          return true;
        });
        if (!walk) return walk;
        EXPECT_EQ(open, stored);
        EXPECT_EQ(t.count_open_orders("sim").value(), stored);
        EXPECT_EQ(t.count_open_orders("").value(), stored);
        return {};
      });
      ASSERT_TRUE(s) << s.error().detail;
    }
    std::size_t entries = 0;
    check_broker_index(dir.path(), &entries);
    EXPECT_EQ(entries, stored);
    EXPECT_EQ(last, stored) << "one event per order";
    EXPECT_LE(published, last);
    EXPECT_GE(published, published_before) << "the published cursor moved back";
    published_before = published;
    std::cout << "round " << round << ": killed after " << r.acked.size() << " acks (target "
              << target << "); " << acked.size() << " acknowledged in all, " << stored
              << " stored, events 1.." << last << ", published " << published << "\n";
    ASSERT_GE(stored, acked.size());
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace brokergw::store
