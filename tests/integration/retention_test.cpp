// The retention job on a real LMDB store: published old events go, unpublished ones stay,
// dedup keys follow their own (longer) retention, and without Kafka age alone decides.
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "gateway/events/retention.h"

namespace brokergw::events {
namespace {

constexpr core::TimestampUs kHourUs = 3600LL * 1000 * 1000;

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/brokergw-retention-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto opened = store::open_lmdb_store({.directory = dir_ + "/store"});
    ASSERT_TRUE(opened) << opened.error().detail;
    store_ = std::move(*opened);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Appends one event per timestamp, and marks an exec id seen at the same time.
  void append(const std::vector<core::TimestampUs>& times) {
    for (core::TimestampUs at : times) {
      auto s = store_->write_and_wait([&](store::WriteTxn& txn) -> store::Status {
        store::StoredEvent ev;
        ev.type = "order.fill";
        ev.broker = "sim";
        ev.account = "ACC-1";
        ev.client_order_id = "ord-1";
        ev.at_us = at;
        ev.body = "{}";
        auto seq = txn.append_event(ev);
        if (!seq) return tl::unexpected(seq.error());
        return txn.mark_exec_seen("sim", "E-" + std::to_string(*seq), at);
      });
      ASSERT_TRUE(s) << s.error().detail;
    }
  }
  void publish_through(std::uint64_t seq) {
    ASSERT_TRUE(
        store_->write_and_wait([&](store::WriteTxn& txn) { return txn.set_published_seq(seq); }));
  }
  std::uint64_t first_seq() {
    std::uint64_t first = 0;
    EXPECT_TRUE(store_->read([&](store::ReadTxn& txn) -> store::Status {
      first = txn.first_event_seq().value();
      return {};
    }));
    return first;
  }
  bool seen(const std::string& exec_id) {
    bool s = false;
    EXPECT_TRUE(store_->read([&](store::ReadTxn& txn) -> store::Status {
      s = txn.exec_seen("sim", exec_id).value();
      return {};
    }));
    return s;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(RetentionTest, deletesOnlyPublishedEventsOlderThanTheRetention) {
  const core::TimestampUs now = 1000 * kHourUs;
  // Events 1-4 are 200 hours old, 5-6 are one hour old.
  append({now - 200 * kHourUs, now - 200 * kHourUs, now - 200 * kHourUs, now - 200 * kHourUs,
          now - kHourUs, now - kHourUs});
  publish_through(2);  // 3 and 4 are old but not yet on Kafka
  RetentionJob job(*store_, [&] { return now; },
                   {.events_retention = std::chrono::hours(168),
                    .dedup_retention = std::chrono::hours(720),
                    .max_items_per_commit = 1,  // forces several passes
                    .kafka_enabled = true});
  auto r = job.run_once();
  ASSERT_TRUE(r) << r.error().detail;
  EXPECT_EQ(r->events_deleted, 2u);
  EXPECT_EQ(first_seq(), 3u) << "an unpublished event was deleted";
  EXPECT_TRUE(seen("E-1")) << "dedup keys are kept for their own, longer retention";

  publish_through(6);
  r = job.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events_deleted, 2u);
  EXPECT_EQ(first_seq(), 5u) << "recent events stay";
}

TEST_F(RetentionTest, forgetsDedupKeysOnlyAfterTheirRetention) {
  const core::TimestampUs now = 2000 * kHourUs;
  append({now - 800 * kHourUs, now - 10 * kHourUs});
  publish_through(2);
  RetentionJob job(*store_, [&] { return now; },
                   {.events_retention = std::chrono::hours(1),
                    .dedup_retention = std::chrono::hours(720),
                    .kafka_enabled = true});
  auto r = job.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dedup_keys_deleted, 1u);
  EXPECT_FALSE(seen("E-1"));
  EXPECT_TRUE(seen("E-2"));
}

TEST_F(RetentionTest, withoutKafkaAgeAloneDecides) {
  const core::TimestampUs now = 1000 * kHourUs;
  append({now - 200 * kHourUs, now - 200 * kHourUs, now - kHourUs});
  RetentionJob job(*store_, [&] { return now; },
                   {.events_retention = std::chrono::hours(168),
                    .dedup_retention = std::chrono::hours(720),
                    .kafka_enabled = false});
  auto r = job.run_once();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events_deleted, 2u);
  EXPECT_EQ(first_seq(), 3u);
}

}  // namespace
}  // namespace brokergw::events
