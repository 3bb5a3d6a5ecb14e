// Opening the tables of the LMDB store and its schema version (store/lmdb_internal.h).
//
// Versions: "1" had every table but open_orders. "2" adds open_orders and the per-broker open
// counts in meta. A store at "1" (or a new, empty one) gets the index built from orders in the
// same write transaction that creates the tables and checks the version, so a store is either
// still at "1", untouched, or at "2" with a complete index: a crash during the migration
// leaves the old store, and the next open migrates again. A build that reads "1" refuses a "2"
// store (it would not keep the index).
#include <string>
#include <utility>

#include "store/lmdb_internal.h"

namespace brokergw::store::lmdb {

Result<Dbis> open_tables(MDB_env* env, const std::string& path) {
  MDB_txn* txn = nullptr;
  if (int rc = mdb_txn_begin(env, nullptr, 0, &txn); rc != 0) {
    return tl::unexpected(lmdb_error(rc, path + ": begin transaction"));
  }
  struct Abort {
    MDB_txn* txn;
    ~Abort() {
      if (txn != nullptr) mdb_txn_abort(txn);
    }
  } abort_txn{txn};

  Dbis d;
  const std::pair<const char*, MDB_dbi*> tables[] = {{"orders", &d.orders},
                                                     {"broker_ids", &d.broker_ids},
                                                     {"cancels", &d.cancels},
                                                     {"exec_seen", &d.exec_seen},
                                                     {"exec_seen_by_time", &d.exec_seen_by_time},
                                                     {"events", &d.events},
                                                     {"open_orders", &d.open_orders},
                                                     {"retries", &d.retries},
                                                     {"retries_due", &d.retries_due},
                                                     {"meta", &d.meta},
                                                     {"fix_sessions", &d.fix_sessions},
                                                     {"fix_messages", &d.fix_messages}};
  for (const auto& [name, dbi] : tables) {
    if (int rc = mdb_dbi_open(txn, name, MDB_CREATE, dbi); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path + ": open table " + name));
    }
  }

  MDB_val k = as_val(kSchemaKey);
  MDB_val v;
  int rc = mdb_get(txn, d.meta, &k, &v);
  if (rc != 0 && rc != MDB_NOTFOUND) {
    return tl::unexpected(lmdb_error(rc, path + ": schema version"));
  }
  // Absent: a new store (its orders table is empty, so the build costs nothing).
  const std::string found = rc == 0 ? std::string(as_view(v)) : std::string();
  if (!found.empty() && found != kSchemaVersion && found != kSchemaVersionWithoutOpenOrders) {
    return store_error(StoreErrc::kCorrupt, path + ": schema version " + printable(found) +
                                                ", this build reads " +
                                                std::string(kSchemaVersion) + " (and migrates " +
                                                std::string(kSchemaVersionWithoutOpenOrders) + ")");
  }
  if (found != kSchemaVersion) {
    LmdbWriteTxn migrate(txn, d, path);
    if (Status s = migrate.rebuild_open_orders(); !s) {
      return store_error(s.error().code, path + ": schema " +
                                             (found.empty() ? std::string("(new)") : found) +
                                             " -> " + std::string(kSchemaVersion) +
                                             ", building open_orders: " + s.error().detail);
    }
    v = as_val(kSchemaVersion);
    if (rc = mdb_put(txn, d.meta, &k, &v, 0); rc != 0) {
      return tl::unexpected(lmdb_error(rc, path + ": schema version"));
    }
  }
  rc = mdb_txn_commit(txn);
  abort_txn.txn = nullptr;  // a failed commit frees the transaction too
  if (rc != 0) return tl::unexpected(lmdb_error(rc, path + ": commit table creation"));
  return d;
}

}  // namespace brokergw::store::lmdb
