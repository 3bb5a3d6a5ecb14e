// The LMDB implementation of store::Store (contract and tables in store/store.h, design in
// docs/STORE.md): the environment, the committer and open_lmdb_store(). The transactions are in
// store/lmdb_read.cpp and store/lmdb_write.cpp, the tables and the schema in
// store/lmdb_schema.cpp, the key encodings in store/lmdb_keys.cpp (all behind
// store/lmdb_internal.h); store/lmdb_*.cpp are the only files of the project that include lmdb.h.
//
// Threads: one committer thread owns every write transaction; read() opens a read-only
// transaction in the caller's thread (MDB_NOTLS, so a thread may hold several and a reader
// slot is not tied to a thread).
//
// Group commit: submit() appends to queue_ (mutex + condvar; bounded only by memory: the
// gateway bounds in-flight work upstream, and refusing a write here would turn back pressure
// into lost orders). The committer takes up to max_batch items, runs each write function in
// a nested transaction of one parent transaction, commits the parent once (synced: the
// environment never uses MDB_NOSYNC/MDB_NOMETASYNC/MDB_MAPASYNC), then calls the callbacks.
// One fsync is shared by the whole batch, which is the point: the disk's sync latency, not
// the number of writers, bounds throughput.
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "store/lmdb_internal.h"
#include "store/store.h"

namespace brokergw::store {

std::string_view to_string(StoreErrc c) {
  switch (c) {
    case StoreErrc::kNotFound:
      return "not_found";
    case StoreErrc::kAlreadyExists:
      return "already_exists";
    case StoreErrc::kVersionConflict:
      return "version_conflict";
    case StoreErrc::kMapFull:
      return "map_full";
    case StoreErrc::kIo:
      return "io";
    case StoreErrc::kCorrupt:
      return "corrupt";
    case StoreErrc::kShuttingDown:
      return "shutting_down";
    case StoreErrc::kAborted:
      return "aborted";
  }
  return "unknown";
}

namespace {

using lmdb::Dbis;
using lmdb::lmdb_error;
using lmdb::LmdbReadTxn;
using lmdb::LmdbWriteTxn;

class LmdbStore final : public Store {
 public:
  LmdbStore(MDB_env* env, const Dbis& dbis, std::string path, std::size_t max_batch)
      : env_(env),
        dbis_(dbis),
        path_(std::move(path)),
        max_batch_(std::max<std::size_t>(1, max_batch)) {
    committer_ = std::thread([this] { run_committer(); });
  }

  ~LmdbStore() override { close(); }

  // Any thread. After close(), `done` runs at once in the caller's thread.
  void submit(WriteFn fn, DoneFn done) override {
    {
      std::lock_guard lock(queue_mu_);
      if (!closing_) {
        queue_.push_back(Item{std::move(fn), std::move(done)});
        queue_cv_.notify_one();
        return;
      }
    }
    if (done) done(store_error(StoreErrc::kShuttingDown, path_ + ": store is closed"));
  }

  // Any thread, on its own snapshot. fn must not call close() (close waits for readers).
  Status read(const std::function<Status(ReadTxn&)>& fn) override {
    // Announce the reader before checking the flag; close() sets the flag before waiting for
    // the count. With seq_cst, one of the two sees the other.
    active_reads_.fetch_add(1);
    struct Leave {
      std::atomic<int>& n;
      ~Leave() { n.fetch_sub(1); }
    } leave{active_reads_};
    if (reads_closed_.load()) {
      return store_error(StoreErrc::kShuttingDown, path_ + ": store is closed");
    }
    MDB_txn* txn = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": begin read transaction"));
    }
    struct Abort {
      MDB_txn* txn;
      ~Abort() { mdb_txn_abort(txn); }
    } abort_txn{txn};
    LmdbReadTxn t(txn, dbis_, path_);
    return fn(t);
  }

  StoreStats stats() const override {
    StoreStats s;
    s.commits = commits_.load(std::memory_order_relaxed);
    s.writes = writes_.load(std::memory_order_relaxed);
    s.failed_commits = failed_commits_.load(std::memory_order_relaxed);
    s.max_batch = max_batch_seen_.load(std::memory_order_relaxed);
    return s;
  }

  // Any thread but the committer (a `done` callback cannot wait for its own thread).
  // Idempotent; concurrent callers all return after the store is closed.
  void close() override {
    std::lock_guard close_lock(close_mu_);
    if (env_ == nullptr) return;
    if (std::this_thread::get_id() == committer_.get_id()) {
      std::fprintf(stderr, "brokergw store %s: close() called from a done callback\n",
                   path_.c_str());
      std::abort();
    }
    {
      std::lock_guard lock(queue_mu_);
      closing_ = true;
    }
    queue_cv_.notify_all();
    committer_.join();
    reads_closed_.store(true);
    while (active_reads_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    mdb_env_close(env_);
    env_ = nullptr;
  }

 private:
  struct Item {
    WriteFn fn;
    DoneFn done;
  };

  // Committer thread.
  void run_committer() {
    std::vector<Item> batch;
    batch.reserve(std::min<std::size_t>(max_batch_, 4096));
    for (;;) {
      {
        std::unique_lock lock(queue_mu_);
        queue_cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
        if (queue_.empty()) return;  // closing, and everything queued before it is done
        std::size_t n = std::min(max_batch_, queue_.size());
        for (std::size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      commit_batch(batch);
      batch.clear();
    }
  }

  // Committer thread: one synced commit for the whole batch, then every callback.
  void commit_batch(std::vector<Item>& batch) {
    std::vector<Status> results(batch.size());
    MDB_txn* parent = nullptr;
    if (int rc = mdb_txn_begin(env_, nullptr, 0, &parent); rc != 0) {
      failed_commits_.fetch_add(1, std::memory_order_relaxed);
      StoreError e = lmdb_error(rc, path_ + ": begin write transaction");
      for (Status& r : results) r = tl::unexpected(e);
    } else {
      writes_.fetch_add(batch.size(), std::memory_order_relaxed);
      std::uint64_t seen = max_batch_seen_.load(std::memory_order_relaxed);
      if (batch.size() > seen) max_batch_seen_.store(batch.size(), std::memory_order_relaxed);

      std::size_t succeeded = 0;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        results[i] = run_nested(parent, batch[i].fn);
        if (results[i]) ++succeeded;
      }
      if (succeeded == 0) {
        mdb_txn_abort(parent);  // nothing to make durable; spare the fsync
      } else if (int rc = mdb_txn_commit(parent); rc != 0) {
        failed_commits_.fetch_add(1, std::memory_order_relaxed);
        StoreError e = lmdb_error(rc, path_ + ": commit");
        for (Status& r : results) {
          if (r) r = tl::unexpected(e);
        }
      } else {
        commits_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) batch[i].done(std::move(results[i]));
    }
  }

  // Committer thread: fn in its own nested transaction; its failure undoes only its writes.
  Status run_nested(MDB_txn* parent, const WriteFn& fn) {
    MDB_txn* child = nullptr;
    if (int rc = mdb_txn_begin(env_, parent, 0, &child); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": begin nested transaction"));
    }
    LmdbWriteTxn txn(child, dbis_, path_);
    Status s;
    try {
      s = fn ? fn(txn) : Status{};
    } catch (const std::exception& e) {
      s = store_error(StoreErrc::kAborted, std::string("write function threw: ") + e.what());
    } catch (...) {
      s = store_error(StoreErrc::kAborted, "write function threw");
    }
    if (s && txn.poisoned()) s = tl::unexpected(*txn.poisoned());
    if (!s) {
      mdb_txn_abort(child);
      return s;
    }
    if (int rc = mdb_txn_commit(child); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path_ + ": commit nested transaction"));
    }
    return s;
  }

  MDB_env* env_;  // null once closed; guarded by close_mu_ for close()
  const Dbis dbis_;
  const std::string path_;
  const std::size_t max_batch_;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Item> queue_;  // guarded by queue_mu_
  bool closing_ = false;    // guarded by queue_mu_
  std::thread committer_;

  std::mutex close_mu_;
  std::atomic<int> active_reads_{0};
  std::atomic<bool> reads_closed_{false};

  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> writes_{0};
  std::atomic<std::uint64_t> failed_commits_{0};
  std::atomic<std::uint64_t> max_batch_seen_{0};  // written by the committer only
};

Status ensure_directory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return store_error(StoreErrc::kIo, dir + ": exists and is not a directory");
    }
    return {};
  }
  if (errno != ENOENT) {
    return store_error(StoreErrc::kIo, dir + ": stat: " + std::strerror(errno));
  }
  std::filesystem::path parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      return store_error(StoreErrc::kIo, parent.string() + ": create directory: " + ec.message());
    }
  }
  // 0700: the store holds client orders; nobody but the service user reads it.
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return store_error(StoreErrc::kIo, dir + ": create directory: " + std::strerror(errno));
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<Store>> open_lmdb_store(const LmdbOptions& options) {
  const std::string& path = options.directory;
  if (path.empty()) return store_error(StoreErrc::kIo, "store directory not set");
  if (Status s = ensure_directory(path); !s) return tl::unexpected(s.error());

  MDB_env* env = nullptr;
  if (int rc = mdb_env_create(&env); rc != 0) {
    return tl::unexpected(lmdb_error(rc, path + ": create LMDB environment"));
  }
  auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  std::uint64_t map_size = (options.map_size_bytes + page - 1) / page * page;
  int rc = mdb_env_set_maxdbs(env, lmdb::kMaxDbs);
  if (rc == 0) rc = mdb_env_set_maxreaders(env, lmdb::kMaxReaders);
  if (rc == 0) rc = mdb_env_set_mapsize(env, static_cast<std::size_t>(map_size));
  // MDB_NOTLS: read transactions are not tied to threads. No MDB_NOSYNC, MDB_NOMETASYNC or
  // MDB_MAPASYNC: a commit returns only once it is on disk.
  if (rc == 0) rc = mdb_env_open(env, path.c_str(), MDB_NOTLS, 0600);
  if (rc != 0) {
    mdb_env_close(env);
    return tl::unexpected(lmdb_error(rc, path + ": open LMDB environment"));
  }
  // A killed process leaves its reader slots behind; free them so they pin no old pages.
  int dead = 0;
  mdb_reader_check(env, &dead);

  Result<Dbis> dbis = lmdb::open_tables(env, path);
  if (!dbis) {
    mdb_env_close(env);
    return tl::unexpected(dbis.error());
  }
  return std::unique_ptr<Store>(new LmdbStore(env, *dbis, path, options.max_batch));
}

}  // namespace brokergw::store
