// The admin API (gateway/api/admin_routes.cpp) over real HTTP on loopback, with the order
// service on the in-memory store and a fake adapter whose session control records every change:
// fail closed (403 without an admin token, 401 for a missing or wrong bearer, the client token
// is not the admin token), invalid input names the field and changes nothing, a dry run changes
// nothing, an applied change is journaled with its before and after numbers.
#include <atomic>
#include <mutex>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "gateway/api/http_api.h"
#include "gateway/service/order_service.h"
#include "tests/support/memory_store.h"
#include "tests/system/harness.h"

namespace brokergw {
namespace {

using nlohmann::json;

class FakeSessionAdapter final : public adapters::BrokerAdapter {
 public:
  const std::string& broker() const override { return name_; }
  void start(adapters::AdapterListener&) override {}
  void stop() override {}
  bool logged_on() const override { return false; }
  adapters::SendResult send_new_order(const core::Order&, bool) override { return down(); }
  adapters::SendResult send_status_request(const core::Order&) override { return down(); }
  adapters::SendResult send_cancel(const core::Order&, std::string_view) override { return down(); }
  core::TimestampUs inbound_read_up_to_us() const override { return 0; }
  void probe_inbound(core::TimestampUs) override {}

  adapters::SessionControlStatus session_control() const override {
    std::lock_guard lock(mu_);
    adapters::SessionControlStatus st;
    st.supported = true;
    st.current = current_;
    st.last_refusal = adapters::SequenceRefusal{false, 44, 1, 1, "MsgSeqNum too low, ..."};
    st.refusals_total = 1;
    st.consecutive_refusals = 1;
    st.reconnect_backoff_ms = 1000;
    return st;
  }
  tl::expected<adapters::SequenceChange, std::string> change_sequence(
      const adapters::SequenceRequest& r, const adapters::SequenceAudit& audit) override {
    changes++;
    adapters::SequenceChange c;
    {
      std::lock_guard lock(mu_);
      c.before = current_;
      c.after = r.reset ? adapters::SessionSequence{1, 1}
                        : adapters::SessionSequence{r.next_sender.value_or(current_.next_sender),
                                                    r.next_target.value_or(current_.next_target)};
    }
    auto s = store_->write_and_wait([&](store::WriteTxn& txn) { return audit(txn, c); });
    if (!s) return tl::unexpected(s.error().detail);
    std::lock_guard lock(mu_);
    current_ = c.after;
    return c;
  }

  store::Store* store_ = nullptr;
  std::atomic<int> changes{0};

 private:
  static adapters::SendResult down() {
    return tl::unexpected(adapters::SendError{adapters::SendErrc::kSessionDown, "fake"});
  }
  std::string name_ = "sim";
  mutable std::mutex mu_;
  adapters::SessionSequence current_{45, 44};
};

struct AdminStack {
  explicit AdminStack(std::string admin_token) {
    auto adapter = std::make_unique<FakeSessionAdapter>();
    adapter->store_ = &store;
    fake = adapter.get();
    std::vector<service::OrderService::BrokerLaneConfig> lanes;
    lanes.push_back({std::move(adapter), service::BrokerPolicy{}});
    orders = std::make_unique<service::OrderService>(store, std::move(lanes),
                                                     service::system_now_us, notifier);
    orders->start();
    cfg.instance_id = "gw-admin";
    cfg.api_listen_address = "127.0.0.1";
    cfg.api_listen_port = static_cast<std::uint16_t>(systest::free_port());
    cfg.api_threads = 2;
    http = std::make_unique<api::HttpApi>(*orders, cfg, "client-token",
                                          api::HttpApi::EventStatusFn{}, std::move(admin_token));
    EXPECT_TRUE(http->start());
  }
  ~AdminStack() {
    http->stop();
    orders->stop();
  }
  httplib::Result get(const std::string& path, const std::string& bearer) {
    httplib::Client c("127.0.0.1", http->port());
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    return c.Get(path, h);
  }
  httplib::Result post(const std::string& path, const std::string& body,
                       const std::string& bearer) {
    httplib::Client c("127.0.0.1", http->port());
    httplib::Headers h;
    if (!bearer.empty()) h.emplace("Authorization", "Bearer " + bearer);
    return c.Post(path, h, body, "application/json");
  }
  json events() {
    auto r = get("/v1/events?after=0&limit=100", "client-token");
    return r ? json::parse(r->body, nullptr, false) : json();
  }

  testing::MemoryStore store;
  events::EventNotifier notifier;
  config::Config cfg;
  FakeSessionAdapter* fake = nullptr;
  std::unique_ptr<service::OrderService> orders;
  std::unique_ptr<api::HttpApi> http;
};

const std::string kAdmin = "admin-secret-1";

TEST(AdminRoutes, shouldAnswer403WithoutAnAdminTokenConfigured) {
  AdminStack s("");
  for (int i = 0; i < 3; ++i) {
    auto r = i == 0   ? s.get("/admin/v1/sessions/sim", "client-token")
             : i == 1 ? s.get("/admin/v1/sessions/sim", "")
                      : s.post("/admin/v1/sessions/sim/reset", "{}", "anything");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 403);
    EXPECT_NE(r->body.find("api.admin_token_file"), std::string::npos) << r->body;
  }
  EXPECT_EQ(s.fake->changes, 0);
}

TEST(AdminRoutes, shouldAnswer401ForAMissingOrWrongBearerAndNeverEchoTheToken) {
  AdminStack s(kAdmin);
  for (const std::string bearer : {"", "client-token", "admin-secret-2", "admin-secret-1x"}) {
    auto r = s.post("/admin/v1/sessions/sim/sequence", R"({"next_sender": 3})", bearer);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401) << bearer;
    EXPECT_EQ(r->body.find(kAdmin), std::string::npos);
  }
  auto shown = s.get("/admin/v1/sessions/sim", kAdmin);
  ASSERT_TRUE(shown);
  EXPECT_EQ(shown->status, 200) << shown->body;
  EXPECT_EQ(s.fake->changes, 0);
}

TEST(AdminRoutes, shouldShowTheNumbersAndTheRefusal) {
  AdminStack s(kAdmin);
  auto r = s.get("/admin/v1/sessions/sim", kAdmin);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  json b = json::parse(r->body);
  EXPECT_EQ(b["next_sender"], 45);
  EXPECT_EQ(b["next_target"], 44);
  EXPECT_EQ(b["refusal"]["expected"], 44);
  EXPECT_EQ(b["refusal"]["received"], 1);
}

TEST(AdminRoutes, shouldRefuseBadInputNamingTheFieldAndChangeNothing) {
  AdminStack s(kAdmin);
  struct Case {
    std::string path, body, field;
    int status;
  } cases[] = {
      {"/admin/v1/sessions/sim/sequence", R"({"next_sender": "12"})", "next_sender", 400},
      {"/admin/v1/sessions/sim/sequence", R"({"next_sender": "abc"})", "next_sender", 400},
      {"/admin/v1/sessions/sim/sequence", R"({"next_target": 0})", "next_target", 400},
      {"/admin/v1/sessions/sim/sequence", R"({"next_target": -5})", "next_target", 400},
      {"/admin/v1/sessions/sim/sequence", R"({"next_sender": 1.5})", "next_sender", 400},
      {"/admin/v1/sessions/sim/sequence", R"({"next_sender": 3000000000})", "next_sender", 400},
      {"/admin/v1/sessions/sim/sequence", R"({})", "next_sender", 400},
      {"/admin/v1/sessions/sim/reset", R"({"dry_run": "yes"})", "dry_run", 400},
      {"/admin/v1/sessions/nosuch/sequence", R"({"next_sender": 3})", "broker", 404},
      {"/admin/v1/sessions/nosuch/reset", R"({})", "broker", 404},
  };
  for (const auto& c : cases) {
    auto r = s.post(c.path, c.body, kAdmin);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, c.status) << c.body << " " << r->body;
    json b = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(b.is_object()) << r->body;
    bool named = false;
    for (const auto& f : b["error"]["fields"]) named = named || f["field"] == c.field;
    EXPECT_TRUE(named) << c.body << " -> " << r->body;
    EXPECT_NE(r->body.find("nothing changed"), std::string::npos) << r->body;
  }
  auto unknown = s.get("/admin/v1/sessions/nosuch", kAdmin);
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto garbage = s.post("/admin/v1/sessions/sim/sequence", "not json", kAdmin);
  ASSERT_TRUE(garbage);
  EXPECT_EQ(garbage->status, 400);
  EXPECT_EQ(s.fake->changes, 0);
  EXPECT_TRUE(s.events()["events"].empty());
}

TEST(AdminRoutes, shouldChangeNothingOnADryRunAndJournalAnAppliedChange) {
  AdminStack s(kAdmin);
  auto dry = s.post("/admin/v1/sessions/sim/sequence",
                    R"({"next_sender": 1, "next_target": 2, "dry_run": true})", kAdmin);
  ASSERT_TRUE(dry);
  ASSERT_EQ(dry->status, 200) << dry->body;
  json d = json::parse(dry->body);
  EXPECT_EQ(d["changed"], false);
  EXPECT_EQ(d["before"]["next_sender"], 45);
  EXPECT_EQ(d["after"]["next_sender"], 1);
  EXPECT_EQ(d["after"]["next_target"], 2);
  EXPECT_EQ(s.fake->changes, 0);
  EXPECT_TRUE(s.events()["events"].empty());

  auto applied =
      s.post("/admin/v1/sessions/sim/sequence", R"({"next_sender": 1, "next_target": 2})", kAdmin);
  ASSERT_TRUE(applied);
  ASSERT_EQ(applied->status, 200) << applied->body;
  EXPECT_EQ(s.fake->changes, 1);
  json ev = s.events()["events"];
  ASSERT_EQ(ev.size(), 1u) << ev.dump();
  EXPECT_EQ(ev[0]["type"], "session.sequence_set");
  EXPECT_EQ(ev[0]["broker"], "sim");
  EXPECT_EQ(ev[0]["before"]["next_sender"], 45);
  EXPECT_EQ(ev[0]["before"]["next_target"], 44);
  EXPECT_EQ(ev[0]["after"]["next_sender"], 1);
  EXPECT_EQ(ev[0]["after"]["next_target"], 2);

  auto reset = s.post("/admin/v1/sessions/sim/reset", "{}", kAdmin);
  ASSERT_TRUE(reset);
  ASSERT_EQ(reset->status, 200) << reset->body;
  ev = s.events()["events"];
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1]["type"], "session.sequence_reset");
  EXPECT_EQ(ev[1]["after"]["next_sender"], 1);
  EXPECT_EQ(ev[1]["after"]["next_target"], 1);
}

}  // namespace
}  // namespace brokergw
