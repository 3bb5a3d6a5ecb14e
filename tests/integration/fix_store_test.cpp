// Integration tests of the QuickFIX message store on LMDB (adapters/fix/lmdb_message_store.h):
// the MessageStore contract on a real LMDB environment in a temp directory (ranges, sequence
// numbers, persistence across a reopen, reset, refresh, secrets, session isolation, failures,
// the FileStore import), and one end-to-end check with a real QuickFIX initiator (on this
// store) and acceptor (MemoryStore) on 127.0.0.1: restart without a sequence reset, and a
// ResendRequest answered from the store.
#include <lmdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <quickfix/Application.h>
#include <quickfix/FileStore.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketAcceptor.h>
#include <quickfix/SocketInitiator.h>
#include <quickfix/TimeRange.h>

#include "adapters/fix/lmdb_message_store.h"
#include "store/store.h"
#include "tests/integration/temp_dir.h"

namespace brokergw::adapters::fix {
namespace {

using namespace std::chrono_literals;

using TempDir = ::brokergw::testing::TempDir;

std::unique_ptr<store::Store> open_store(const std::string& dir) {
  store::LmdbOptions options;
  options.directory = dir;
  options.map_size_bytes = 64ull << 20;
  auto opened = store::open_lmdb_store(options);
  if (!opened) {
    ADD_FAILURE() << opened.error().detail;
    return nullptr;
  }
  return std::move(*opened);
}

core::TimestampUs now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const FIX::SessionID kSession("FIX.4.4", "GW", "BRK");

// A MessageStore from the factory, destroyed through it.
struct Opened {
  Opened(LmdbMessageStoreFactory& f, const FIX::SessionID& id) : factory(f), ms(f.create(id)) {}
  ~Opened() { factory.destroy(ms); }
  FIX::MessageStore* operator->() const { return ms; }
  LmdbMessageStoreFactory& factory;
  FIX::MessageStore* ms;
};

std::string raw(int seq, const std::string& type, const std::string& body) {
  FIX::Message m;
  m.getHeader().setField(8, "FIX.4.4");
  m.getHeader().setField(35, type);
  m.getHeader().setField(34, std::to_string(seq));
  m.getHeader().setField(49, "GW");
  m.getHeader().setField(56, "BRK");
  m.setField(58, body);
  return m.toString();
}

std::vector<std::string> get(const Opened& ms, int begin, int end) {
  std::vector<std::string> out{"stale entry the store must clear"};
  ms->get(begin, end, out);
  return out;
}

store::SessionState stored_state(store::Store& db, const FIX::SessionID& id) {
  store::SessionState st;
  auto s = db.read([&](store::ReadTxn& txn) -> store::Status {
    auto r = txn.get_session(id.toString());
    if (!r) return tl::unexpected(r.error());
    st = *r;
    return {};
  });
  EXPECT_TRUE(s) << s.error().detail;
  return st;
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(FixStore, shouldStartANewSessionAt1And1AndStoreIt) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  const core::TimestampUs before = now_us();
  Opened ms(factory, kSession);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 1);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 1);
  store::SessionState st = stored_state(*db, kSession);
  EXPECT_EQ(st.next_sender, 1);
  EXPECT_EQ(st.next_target, 1);
  EXPECT_GE(st.creation_us, before);
  EXPECT_LE(st.creation_us, now_us());
}

TEST(FixStore, shouldReturnStoredRangesInSeqOrderSkippingMissingOnes) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  // Stored out of order, 3 missing, 2 replaced.
  for (int seq : {5, 1, 2, 4}) EXPECT_TRUE(ms->set(seq, raw(seq, "D", "first")));
  EXPECT_TRUE(ms->set(2, raw(2, "D", "second")));
  EXPECT_EQ(get(ms, 1, 5), (std::vector<std::string>{raw(1, "D", "first"), raw(2, "D", "second"),
                                                     raw(4, "D", "first"), raw(5, "D", "first")}));
  EXPECT_EQ(get(ms, 2, 4), (std::vector<std::string>{raw(2, "D", "second"), raw(4, "D", "first")}));
  EXPECT_EQ(get(ms, 3, 3), std::vector<std::string>{});
  EXPECT_EQ(get(ms, 6, 100), std::vector<std::string>{});
  EXPECT_EQ(get(ms, 4, 2), std::vector<std::string>{});
  EXPECT_EQ(get(ms, -5, 1), std::vector<std::string>{raw(1, "D", "first")});
}

TEST(FixStore, shouldIncrementAndSetSequenceNumbersDurably) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  for (int i = 0; i < 3; ++i) ms->incrNextSenderMsgSeqNum();
  ms->incrNextTargetMsgSeqNum();
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 4);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 2);
  // Sender numbers are reserved durably in blocks: the store holds the end of the block,
  // never less than the true number (the first increment reserved 2 + 1024).
  EXPECT_EQ(stored_state(*db, kSession).next_sender, 1026);

  ms->setNextSenderMsgSeqNum(10);
  ms->setNextTargetMsgSeqNum(20);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 10);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 20);
  store::SessionState st = stored_state(*db, kSession);
  EXPECT_EQ(st.next_sender, 10);
  EXPECT_EQ(st.next_target, 20);

  // A sequence number below 1 is refused by the store: QuickFIX gets an IOException and the
  // numbers do not change.
  EXPECT_THROW(ms->setNextSenderMsgSeqNum(0), FIX::IOException);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 10);
}

TEST(FixStore, shouldFindSequenceNumbersAndMessagesAgainAfterReopeningTheStore) {
  TempDir dir;
  core::TimestampUs created = 0;
  {
    auto db = open_store(dir.sub("store"));
    LmdbMessageStoreFactory factory(*db);
    Opened ms(factory, kSession);
    for (int seq = 1; seq <= 3; ++seq) {
      ms->set(seq, raw(seq, "D", "order " + std::to_string(seq)));
      ms->incrNextSenderMsgSeqNum();
    }
    for (int i = 0; i < 7; ++i) ms->incrNextTargetMsgSeqNum();  // queued, not waited
    created = stored_state(*db, kSession).creation_us;
  }  // the MessageStore waits for its queued writes; close() drains the rest
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 4);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 8);
  EXPECT_EQ(get(ms, 1, 3), (std::vector<std::string>{raw(1, "D", "order 1"), raw(2, "D", "order 2"),
                                                     raw(3, "D", "order 3")}));
  EXPECT_EQ(stored_state(*db, kSession).creation_us, created);
}

TEST(FixStore, shouldClearMessagesAndRestartAt1And1WithANewCreationTimeOnReset) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  for (int seq = 1; seq <= 3; ++seq) {
    ms->set(seq, raw(seq, "D", "x"));
    ms->incrNextSenderMsgSeqNum();
  }
  ms->incrNextTargetMsgSeqNum();
  const core::TimestampUs created = stored_state(*db, kSession).creation_us;
  std::this_thread::sleep_for(2ms);

  ms->reset();
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 1);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 1);
  EXPECT_EQ(get(ms, 1, 100), std::vector<std::string>{});
  store::SessionState st = stored_state(*db, kSession);
  EXPECT_EQ(st.next_sender, 1);
  EXPECT_EQ(st.next_target, 1);
  EXPECT_GT(st.creation_us, created);
}

TEST(FixStore, shouldReloadFromTheStoreOnRefresh) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  ms->incrNextTargetMsgSeqNum();  // queued: refresh must see its own writes first
  ASSERT_TRUE(db->write_and_wait([](store::WriteTxn& txn) -> store::Status {
    auto st = txn.get_session(kSession.toString());
    if (!st) return tl::unexpected(st.error());
    EXPECT_EQ(st->next_target, 2);
    return txn.put_session(kSession.toString(), {42, 17, st->creation_us});
  }));
  ms->refresh();
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 42);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 17);
}

TEST(FixStore, shouldStoreALogonWithoutItsPassword) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  {
    Opened ms(factory, kSession);
    FIX::Message logon;
    logon.getHeader().setField(8, "FIX.4.4");
    logon.getHeader().setField(35, "A");
    logon.getHeader().setField(34, "1");
    logon.setField(98, "0");
    logon.setField(108, "30");
    logon.setField(553, "alice");
    logon.setField(554, "s3cr3t-pw");
    logon.setField(925, "n3w-pw");
    ASSERT_TRUE(ms->set(1, logon.toString()));
    ms->incrNextSenderMsgSeqNum();
    std::vector<std::string> stored = get(ms, 1, 1);
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].find("s3cr3t"), std::string::npos);
    EXPECT_EQ(stored[0].find("\x01"
                             "554="),
              std::string::npos);
    EXPECT_EQ(stored[0].find("\x01"
                             "925="),
              std::string::npos);
    FIX::Message reparsed(stored[0], true);  // length and checksum still valid
    EXPECT_EQ(reparsed.getField(553), "alice");
  }
  db->close();
  // Not anywhere in the environment's file either.
  const std::string data = file_bytes(dir.sub("store/data.mdb"));
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.find("s3cr3t"), std::string::npos);
  EXPECT_EQ(data.find("n3w-pw"), std::string::npos);
  EXPECT_NE(data.find("alice"), std::string::npos);
}

TEST(FixStore, shouldKeepTwoSessionsApartEvenWhenOneIdIsAPrefixOfTheOther) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  const FIX::SessionID a("FIX.4.4", "GW", "BRK");
  const FIX::SessionID b("FIX.4.4", "GW", "BRK2");  // "FIX.4.4:GW->BRK" is a prefix of it
  Opened sa(factory, a);
  Opened sb(factory, b);
  sa->set(1, raw(1, "D", "for a"));
  sa->incrNextSenderMsgSeqNum();
  sb->set(1, raw(1, "D", "for b"));
  sb->set(2, raw(2, "D", "for b"));
  sb->incrNextSenderMsgSeqNum();
  sb->incrNextSenderMsgSeqNum();
  EXPECT_EQ(get(sa, 1, 10), std::vector<std::string>{raw(1, "D", "for a")});
  EXPECT_EQ(get(sb, 1, 10), (std::vector<std::string>{raw(1, "D", "for b"), raw(2, "D", "for b")}));
  EXPECT_EQ(sa->getNextSenderMsgSeqNum(), 2);
  EXPECT_EQ(sb->getNextSenderMsgSeqNum(), 3);
  sa->reset();
  EXPECT_EQ(get(sa, 1, 10), std::vector<std::string>{});
  EXPECT_EQ(get(sb, 1, 10).size(), 2u);
  EXPECT_EQ(sb->getNextSenderMsgSeqNum(), 3);
}

TEST(FixStore, shouldKeepOnlyTheLastRetainedMessages) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db, {.retain_messages = 10});
  Opened ms(factory, kSession);
  for (int seq = 1; seq <= 30; ++seq) {
    ms->set(seq, raw(seq, "D", "x"));
    ms->incrNextSenderMsgSeqNum();
  }
  std::vector<std::string> kept = get(ms, 1, 30);
  ASSERT_EQ(kept.size(), 11u);  // 20..30: storing n trims everything below n - 10
  EXPECT_EQ(kept.front(), raw(20, "D", "x"));
  EXPECT_EQ(kept.back(), raw(30, "D", "x"));
}

// Regression: QuickFIX 1.15.1 reads StartTime == EndTime as a daily window and compares the
// UTC date of now with the store's creation time; a session created on an earlier day would be
// reset at start-up (and every session at midnight). The store's answer must pass that check.
TEST(FixStore, shouldPassQuickFixsDailySessionCheckForASessionCreatedDaysAgo) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  const core::TimestampUs three_days_ago = now_us() - 3ll * 86'400'000'000;
  ASSERT_TRUE(db->write_and_wait([&](store::WriteTxn& txn) {
    return txn.put_session(kSession.toString(), {57, 33, three_days_ago});
  }));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  FIX::TimeRange always_on(FIX::UtcTimeOnly(0, 0, 0), FIX::UtcTimeOnly(0, 0, 0));
  FIX::UtcTimeStamp now;
  EXPECT_TRUE(always_on.isInSameRange(now, ms->getCreationTime()));
  // What the stored creation time would have done:
  EXPECT_FALSE(always_on.isInSameRange(now, FIX::UtcTimeStamp(three_days_ago / 1'000'000)));
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 57);
  EXPECT_EQ(stored_state(*db, kSession).creation_us, three_days_ago);
}

TEST(FixStore, shouldStoreTheExactSenderNumberOnACleanStopAndAtMostABlockAheadOnACrash) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  {
    Opened ms(factory, kSession);
    for (int i = 0; i < 10; ++i) ms->incrNextSenderMsgSeqNum();
    // A crash now would resume at the reserved bound: a gap the broker asks to fill, never a
    // number used twice.
    EXPECT_GE(stored_state(*db, kSession).next_sender, 11);
    EXPECT_LE(stored_state(*db, kSession).next_sender, 11 + 1024);
  }
  EXPECT_EQ(stored_state(*db, kSession).next_sender, 11) << "a clean stop stores the exact number";
}

TEST(FixStore, shouldThrowIOExceptionWhenTheStoreFails) {
  TempDir dir;
  auto db = open_store(dir.sub("store"));
  LmdbMessageStoreFactory factory(*db);
  Opened ms(factory, kSession);
  // A queued write that fails (the store refuses seq 0) is reported by the next waited one,
  // so QuickFIX would not send the message.
  ms->set(0, raw(0, "D", "x"));
  std::vector<std::string> drained;
  ms->get(1, 1, drained);  // waits for the queued writes (the failed one among them)
  EXPECT_THROW(ms->incrNextSenderMsgSeqNum(), FIX::IOException);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 1);
  ms->incrNextSenderMsgSeqNum();  // reported once; the store itself is healthy
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 2);

  db->close();
  // Increments inside the durably reserved block do not touch the store; everything that
  // does reports the failure.
  EXPECT_THROW(ms->setNextTargetMsgSeqNum(5), FIX::IOException);
  EXPECT_THROW(ms->reset(), FIX::IOException);
  std::vector<std::string> out;
  EXPECT_THROW(ms->get(1, 10, out), FIX::IOException);
  EXPECT_EQ(ms->getNextSenderMsgSeqNum(), 2);
  EXPECT_EQ(ms->getNextTargetMsgSeqNum(), 1);
  EXPECT_THROW(factory.create(FIX::SessionID("FIX.4.4", "GW", "OTHER")), FIX::ConfigError);
}

TEST(FixStore, shouldImportAFileStoresSequenceNumbersOnce) {
  TempDir dir;
  {
    FIX::FileStore legacy(dir.sub("fix/brk"), kSession);
    legacy.setNextSenderMsgSeqNum(7);
    legacy.setNextTargetMsgSeqNum(9);
  }
  auto db = open_store(dir.sub("store"));
  auto nothing = import_file_store(*db, dir.sub("fix/none"), kSession);
  ASSERT_TRUE(nothing) << nothing.error();
  EXPECT_FALSE(*nothing);

  auto imported = import_file_store(*db, dir.sub("fix/brk"), kSession);
  ASSERT_TRUE(imported) << imported.error();
  EXPECT_TRUE(*imported);
  store::SessionState st = stored_state(*db, kSession);
  EXPECT_EQ(st.next_sender, 7);
  EXPECT_EQ(st.next_target, 9);
  EXPECT_GT(st.creation_us, 0);

  // Once the store has the session, the files are ignored (a later reset is not undone).
  ASSERT_TRUE(db->write_and_wait(
      [](store::WriteTxn& txn) { return txn.reset_session(kSession.toString(), now_us()); }));
  auto again = import_file_store(*db, dir.sub("fix/brk"), kSession);
  ASSERT_TRUE(again) << again.error();
  EXPECT_FALSE(*again);
  EXPECT_EQ(stored_state(*db, kSession).next_sender, 1);
}

// A record written behind the store's back (store closed) is reported, never used: QuickFIX
// gets ConfigError at session creation, and nothing is guessed.
TEST(FixStore, shouldRefuseACorruptSessionRecordOrMessageKey) {
  TempDir dir;
  {
    auto db = open_store(dir.sub("store"));
    LmdbMessageStoreFactory factory(*db);
    Opened ms(factory, kSession);
    ms->set(1, raw(1, "D", "x"));
    ms->incrNextSenderMsgSeqNum();
  }
  MDB_env* env = nullptr;
  ASSERT_EQ(mdb_env_create(&env), 0);
  ASSERT_EQ(mdb_env_set_maxdbs(env, 32), 0);
  ASSERT_EQ(mdb_env_open(env, dir.sub("store").c_str(), 0, 0600), 0);
  MDB_txn* txn = nullptr;
  ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
  MDB_dbi sessions;
  MDB_dbi messages;
  ASSERT_EQ(mdb_dbi_open(txn, "fix_sessions", 0, &sessions), 0);
  ASSERT_EQ(mdb_dbi_open(txn, "fix_messages", 0, &messages), 0);
  std::string id = kSession.toString();
  std::string short_value = "\x00\x00\x00\x02";  // 4 bytes, not 16
  MDB_val k{id.size(), id.data()};
  MDB_val v{short_value.size(), short_value.data()};
  ASSERT_EQ(mdb_put(txn, sessions, &k, &v, 0), 0);
  std::string bad_key = id + std::string(1, '\0') + "xy";  // not 4 bytes of seq
  MDB_val mk{bad_key.size(), bad_key.data()};
  MDB_val mv{1, const_cast<char*>("x")};
  ASSERT_EQ(mdb_put(txn, messages, &mk, &mv, 0), 0);
  ASSERT_EQ(mdb_txn_commit(txn), 0);
  mdb_env_close(env);

  auto db = open_store(dir.sub("store"));
  auto s = db->read([](store::ReadTxn& r) -> store::Status {
    auto st = r.get_session(kSession.toString());
    EXPECT_FALSE(st);
    if (!st) {
      EXPECT_EQ(st.error().code, store::StoreErrc::kCorrupt);
      EXPECT_NE(st.error().detail.find("fix_sessions[FIX.4.4:GW->BRK]"), std::string::npos)
          << st.error().detail;
    }
    auto msgs = r.get_session_messages(kSession.toString(), 1, 10);
    EXPECT_FALSE(msgs);
    if (!msgs) EXPECT_EQ(msgs.error().code, store::StoreErrc::kCorrupt);
    return {};
  });
  ASSERT_TRUE(s);
  LmdbMessageStoreFactory factory(*db);
  EXPECT_THROW(factory.create(kSession), FIX::ConfigError);
}

// ---- end to end: a real initiator on the LMDB store, a real acceptor on MemoryStore ----------

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::abort();
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Records what a side received; every wait has a deadline.
class Recorder : public FIX::Application {
 public:
  explicit Recorder(std::string password = {}) : password_(std::move(password)) {}
  void onCreate(const FIX::SessionID&) override {}
  void onLogon(const FIX::SessionID&) override {
    bump([&] { ++logons_; });
  }
  void onLogout(const FIX::SessionID&) override {
    bump([&] { ++logouts_; });
  }
  void toAdmin(FIX::Message& msg, const FIX::SessionID&) override {
    if (!password_.empty() && msg.getHeader().getField(35) == "A") msg.setField(554, password_);
  }
  void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
  void fromAdmin(const FIX::Message&,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {}
  void fromApp(const FIX::Message& msg,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    const bool poss_dup = msg.getHeader().isSetField(43) && msg.getHeader().getField(43) == "Y";
    std::string entry =
        msg.getField(11) + (poss_dup ? " possdup " : " new ") + msg.getHeader().getField(34);
    bump([&] { received_.push_back(entry); });
  }

  bool wait_for_logons(int n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 15s, [&] { return logons_ >= n; });
  }
  bool wait_for_received(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, 15s, [&] { return received_.size() >= n; });
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void bump(const std::function<void()>& f) {
    std::lock_guard lock(mu_);
    f();
    cv_.notify_all();
  }
  std::string password_;
  std::mutex mu_;
  std::condition_variable cv_;
  int logons_ = 0;
  int logouts_ = 0;
  std::vector<std::string> received_;
};

FIX::SessionSettings settings(bool initiator, int port) {
  FIX::Dictionary d;
  d.setString("ConnectionType", initiator ? "initiator" : "acceptor");
  d.setString("StartTime", "00:00:00");
  d.setString("EndTime", "00:00:00");
  d.setInt("HeartBtInt", 30);
  d.setString("UseDataDictionary", "N");
  d.setString("ResetOnLogon", "N");
  d.setString("ResetOnLogout", "N");
  d.setString("ResetOnDisconnect", "N");
  d.setString("PersistMessages", "Y");
  if (initiator) {
    d.setString("SocketConnectHost", "127.0.0.1");
    d.setInt("SocketConnectPort", port);
    d.setInt("ReconnectInterval", 1);
  } else {
    d.setInt("SocketAcceptPort", port);
  }
  FIX::SessionSettings s;
  s.set(d);
  s.set(initiator ? kSession : FIX::SessionID("FIX.4.4", "BRK", "GW"), FIX::Dictionary());
  return s;
}

FIX::Message order(const std::string& cl_ord_id) {
  FIX::Message m;
  m.getHeader().setField(35, "D");
  m.setField(11, cl_ord_id);
  m.setField(55, "AAPL");
  m.setField(54, "1");
  m.setField(38, "10");
  m.setField(40, "1");
  m.setField(60, "20240102-10:00:00.000");
  return m;
}

TEST(FixStoreEndToEnd, shouldContinueSequenceNumbersAfterARestartAndAnswerResendsFromTheStore) {
  TempDir dir;
  const int port = free_port();
  const FIX::SessionID acceptor_id("FIX.4.4", "BRK", "GW");
  Recorder broker;
  FIX::MemoryStoreFactory broker_store;
  FIX::SocketAcceptor acceptor(broker, broker_store, settings(false, port));
  acceptor.start();

  int sent_before_restart = 0;
  {
    auto db = open_store(dir.sub("store"));
    LmdbMessageStoreFactory factory(*db);
    Recorder gw("s3cr3t-pw");
    FIX::SocketInitiator initiator(gw, factory, settings(true, port));
    initiator.start();
    ASSERT_TRUE(gw.wait_for_logons(1)) << "no logon";
    for (const char* id : {"C-1", "C-2", "C-3"}) {
      FIX::Message m = order(id);
      ASSERT_TRUE(FIX::Session::sendToTarget(m, kSession));
    }
    ASSERT_TRUE(broker.wait_for_received(3));
    EXPECT_EQ(broker.received(), (std::vector<std::string>{"C-1 new 2", "C-2 new 3", "C-3 new 4"}));
    initiator.stop();
    sent_before_restart = stored_state(*db, kSession).next_sender - 1;
    EXPECT_GE(sent_before_restart, 5);  // Logon, three orders, Logout
    db->close();
    const std::string data = file_bytes(dir.sub("store/data.mdb"));
    EXPECT_EQ(data.find("s3cr3t"), std::string::npos) << "the Logon password reached the disk";
    EXPECT_NE(data.find("C-2"), std::string::npos) << "sent messages are in the store";
  }

  // The broker lost messages 2.. (as if its own store were behind): at our next Logon it asks
  // us to resend, and the answer can only come from our store. The stored creation time is
  // made days old, which must not reset anything either.
  FIX::Session* broker_session = FIX::Session::lookupSession(acceptor_id);
  ASSERT_NE(broker_session, nullptr);
  broker_session->setNextTargetMsgSeqNum(2);
  {
    auto db = open_store(dir.sub("store"));
    ASSERT_TRUE(db->write_and_wait([](store::WriteTxn& txn) -> store::Status {
      auto st = txn.get_session(kSession.toString());
      if (!st) return tl::unexpected(st.error());
      st->creation_us -= 3ll * 86'400'000'000;
      return txn.put_session(kSession.toString(), *st);
    }));
    LmdbMessageStoreFactory factory(*db);
    Recorder gw("s3cr3t-pw");
    FIX::SocketInitiator initiator(gw, factory, settings(true, port));
    initiator.start();
    ASSERT_TRUE(gw.wait_for_logons(1)) << "no logon after the restart";
    // Our Logon continued the sequence (a reset would have started at 1).
    ASSERT_TRUE(broker.wait_for_received(6)) << "the resend did not arrive";
    FIX::Message m = order("C-4");
    ASSERT_TRUE(FIX::Session::sendToTarget(m, kSession));
    ASSERT_TRUE(broker.wait_for_received(7));
    const std::string after = "C-4 new " + std::to_string(sent_before_restart + 2);
    EXPECT_EQ(broker.received(),
              (std::vector<std::string>{"C-1 new 2", "C-2 new 3", "C-3 new 4", "C-1 possdup 2",
                                        "C-2 possdup 3", "C-3 possdup 4", after}));
    initiator.stop();
  }
  acceptor.stop();
}

}  // namespace
}  // namespace brokergw::adapters::fix
