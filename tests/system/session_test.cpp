// System test of FIX sequence numbers under operator control (docs/RECOVERY.md, "The broker
// reset its sequence numbers"): the real gateway trades with the real simulator, the simulator
// restarts with a fresh state (a counterparty back at sequence number 1), and then:
//  * the refusal is visible with both numbers: error log, /v1/health, /metrics, the event
//    session.sequence_refused;
//  * reconnects back off (1 s, 2 s, 4 s ...): the waits are read from the log, and the attempts
//    the simulator saw are counted, with no timing assertion beyond "at least the backoff";
//  * the operator's `brokergw session show`, `set-seq --dry-run` (changes nothing) and `reset`
//    against the running gateway, with the broker reset again meanwhile (as agreed with it:
//    both sides start at 1); the session logs on, orders flow, the reset is audited.
// And the other way round: the broker logs us out because our number is too low (its Logout's
// Text), and the operator sets the number it expects.
#include <filesystem>

#include <gtest/gtest.h>

#include "tests/system/harness.h"

namespace brokergw::systest {
namespace {

const SimOptions kFills{{"symbol = \"AAPL\"\naction = \"fill\"\nfills = 1\nfill_interval_ms = 5"}};
const std::string kAdminToken = "adm-7f3c9e21-session-test";

std::size_t count_of(const std::string& text, const std::string& needle, std::size_t from = 0) {
  std::size_t n = 0;
  for (auto at = text.find(needle, from); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

struct CliRun {
  int status = -1;
  std::string output;
};

// Runs `brokergw session ...` against the running gateway; its output goes to a file.
CliRun run_cli(Stack& stack, const std::string& token_file, std::vector<std::string> args,
               const std::string& name) {
  std::vector<std::string> argv{BROKERGW_BIN, "session"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--url", "http://127.0.0.1:" + std::to_string(stack.api_port()),
                           "--admin-token-file", token_file});
  const std::string log = stack.dir().file("cli-" + name + ".log");
  Process p(argv, log);
  CliRun run;
  run.status = p.wait(90s).value_or(-1);
  run.output = read_file(log);
  return run;
}

nlohmann::json session_health(Stack& stack) {
  HttpResult h = stack.get("/v1/health");
  if (h.status != 200 || !h.body.is_object()) return {};
  return h.body["brokers"]["sim"]["session"];
}

std::vector<nlohmann::json> events_of(Stack& stack, const std::string& type) {
  std::vector<nlohmann::json> out;
  HttpResult r = stack.get("/v1/events?after=0&limit=1000");
  for (const auto& e : r.body["events"]) {
    if (e["type"] == type) out.push_back(e);
  }
  return out;
}

TEST(Session, shouldAlertBackOffAndLogOnAgainAfterTheOperatorResetsWhenTheBrokerResetItsNumbers) {
  TempDir secrets;
  const std::string token_file = secrets.file("admin.token");
  write_file(token_file, kAdminToken + "\n");
  GatewayOptions gw;
  gw.api_toml = "admin_token_file = \"" + token_file + "\"";
  Stack stack(kFills, gw);
  stack.start_sim();
  stack.start_gateway();

  // The gateway trades: both sides' sequence numbers move on.
  for (int i = 0; i < 3; ++i) {
    const std::string id = "before-" + std::to_string(i);
    ASSERT_EQ(stack.post("/v1/orders", Stack::order(id)).status, 201);
    ASSERT_TRUE(stack.wait_for_state(id, "filled")) << id;
  }
  // The broker restarts with a fresh state: it starts again at MsgSeqNum 1.
  stack.stop_sim();
  ASSERT_TRUE(wait_until([&] { return !session_health(stack).value("logged_on", true); }, 10s));
  const int target_before = session_health(stack).value("next_target", 0);  // after its Logout
  ASSERT_GT(target_before, 3);
  // A fresh state, except for the simulator's run counter: its ExecIDs stay unique across its
  // restarts, as a real broker's do (this test is about sequence numbers, not ExecID reuse).
  const std::string sim_state = stack.dir().file("sim0-state");
  const std::string runs = read_file(sim_state + "/brokersim.runs");
  const auto fresh_sim_state = [&] {
    std::filesystem::remove_all(sim_state);
    std::filesystem::create_directories(sim_state);
    write_file(sim_state + "/brokersim.runs", runs);
  };
  fresh_sim_state();
  const std::size_t sim_log_from = stack.sim_log().size();
  stack.start_sim(0);

  // The alert names both numbers: health, then metric, log and event.
  ASSERT_TRUE(
      wait_until([&] { return session_health(stack).value("sequence_refused", false); }, 20s))
      << stack.gateway_log();
  const nlohmann::json refused = session_health(stack);
  EXPECT_EQ(refused["refusal"]["side"], "theirs_too_low");
  const int expected = refused["refusal"]["expected"];
  const int received = refused["refusal"]["received"];
  EXPECT_EQ(expected, target_before);
  EXPECT_GE(received, 1);
  EXPECT_LT(received, expected);
  HttpResult metrics = stack.get("/metrics");
  EXPECT_NE(metrics.raw.find("brokergw_session_sequence_refused{broker=\"sim\"} 1"),
            std::string::npos);
  EXPECT_NE(metrics.raw.find("brokergw_session_refused_expected_seq{broker=\"sim\"} " +
                             std::to_string(expected)),
            std::string::npos);
  EXPECT_NE(stack.gateway_log().find("logon refused for sequence numbers: the broker's MsgSeqNum "
                                     "too low, expected " +
                                     std::to_string(expected)),
            std::string::npos);
  ASSERT_TRUE(
      wait_until([&] { return !events_of(stack, "session.sequence_refused").empty(); }, 10s));
  const nlohmann::json ev = events_of(stack, "session.sequence_refused").front();
  EXPECT_EQ(ev["broker"], "sim");
  EXPECT_EQ(ev["expected"], expected);
  EXPECT_GE(ev["received"].get<int>(), 1);

  // It stops hammering: three refusals in a row wait 1 s, 2 s, then 4 s.
  const auto first_refusal = std::chrono::steady_clock::now();
  ASSERT_TRUE(
      wait_until([&] { return session_health(stack).value("consecutive_refusals", 0) >= 3; }, 30s))
      << stack.gateway_log();
  const auto three_refusals = std::chrono::steady_clock::now() - first_refusal;
  EXPECT_GE(three_refusals, 2500ms);  // at least the backoff (1 s + 2 s), never an upper bound
  // The third wait is logged once the control thread has stopped the refused initiator.
  const std::string third_wait = "(3 in a row); next logon in 4000 ms";
  ASSERT_TRUE(
      wait_until([&] { return stack.gateway_log().find(third_wait) != std::string::npos; }, 10s));
  const std::string log = stack.gateway_log();
  const auto waits = [&](int ms) {
    return log.find("in a row); next logon in " + std::to_string(ms) + " ms");
  };
  ASSERT_NE(waits(1000), std::string::npos) << log;
  ASSERT_NE(waits(2000), std::string::npos) << log;
  ASSERT_NE(waits(4000), std::string::npos) << log;
  EXPECT_LT(waits(1000), waits(2000));
  EXPECT_LT(waits(2000), waits(4000));
  EXPECT_GE(session_health(stack).value("reconnect_backoff_s", 0), 4);
  // Every logon the broker saw was one refused attempt: nothing in between.
  const int refusals = session_health(stack).value("consecutive_refusals", 0);
  const std::size_t sim_logons = count_of(stack.sim_log(), "logged on", sim_log_from);
  EXPECT_LE(sim_logons, static_cast<std::size_t>(refusals) + 1);

  // The operator looks, tries a dry run (nothing changes), then resets.
  CliRun show = run_cli(stack, token_file, {"show", "sim"}, "show");
  ASSERT_EQ(show.status, 0) << show.output;
  EXPECT_NE(show.output.find("next_target " + std::to_string(expected)), std::string::npos)
      << show.output;
  EXPECT_NE(show.output.find("expected " + std::to_string(expected)), std::string::npos)
      << show.output;

  const int sender_now = session_health(stack).value("next_sender", 0);
  CliRun dry = run_cli(stack, token_file,
                       {"set-seq", "sim", "--sender", "1", "--target", "1", "--dry-run"}, "dry");
  ASSERT_EQ(dry.status, 0) << dry.output;
  EXPECT_NE(dry.output.find("dry run, nothing changed"), std::string::npos) << dry.output;
  EXPECT_NE(dry.output.find("next_target " + std::to_string(expected) + " -> 1"), std::string::npos)
      << dry.output;
  EXPECT_EQ(session_health(stack).value("next_target", 0), expected);
  EXPECT_GE(session_health(stack).value("next_sender", 0), sender_now);
  EXPECT_TRUE(events_of(stack, "session.sequence_set").empty());
  EXPECT_TRUE(events_of(stack, "session.sequence_reset").empty());

  CliRun bad = run_cli(stack, token_file, {"set-seq", "sim", "--sender", "abc"}, "bad");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.output.find("--sender must be a whole number"), std::string::npos) << bad.output;

  // Every refused logon moves the broker's numbers too (it answers our Logon and counts our
  // Logout), so the agreed fix is: both sides reset to 1 while the session is down.
  stack.stop_sim();
  CliRun reset = run_cli(stack, token_file, {"reset", "sim"}, "reset");
  ASSERT_EQ(reset.status, 0) << reset.output << stack.gateway_log();
  EXPECT_NE(reset.output.find("changed"), std::string::npos) << reset.output;
  EXPECT_NE(reset.output.find("next_target " + std::to_string(expected) + " -> 1"),
            std::string::npos)
      << reset.output;

  fresh_sim_state();
  stack.start_sim(0);

  // The session logs on, orders flow again, and the reset is audited.
  ASSERT_TRUE(wait_until(
      [&] {
        HttpResult h = stack.get("/v1/health");
        return h.status == 200 && h.body["brokers"]["sim"]["logged_on"] == true;
      },
      20s))
      << stack.gateway_log();
  EXPECT_FALSE(session_health(stack).value("sequence_refused", true));
  EXPECT_EQ(session_health(stack).value("consecutive_refusals", -1), 0);  // no refusal since
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("after-reset")).status, 201);
  EXPECT_TRUE(stack.wait_for_state("after-reset", "filled")) << stack.gateway_log();
  const auto audits = events_of(stack, "session.sequence_reset");
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0]["broker"], "sim");
  EXPECT_EQ(audits[0]["before"]["next_target"], expected);
  EXPECT_EQ(audits[0]["after"]["next_sender"], 1);
  EXPECT_EQ(audits[0]["after"]["next_target"], 1);
  EXPECT_NE(stack.gateway_log().find("sequence numbers reset by the operator"), std::string::npos);

  // The admin token never reaches a log or an answer.
  EXPECT_EQ(stack.gateway_log().find(kAdminToken), std::string::npos);
  for (const CliRun* r : {&show, &dry, &bad, &reset}) {
    EXPECT_EQ(r->output.find(kAdminToken), std::string::npos);
  }
}

TEST(Session, shouldReadTheBrokersLogoutWhenItRefusesOurNumberAndLogOnAfterTheOperatorSetsIt) {
  TempDir secrets;
  const std::string token_file = secrets.file("admin.token");
  write_file(token_file, kAdminToken + "\n");
  GatewayOptions gw;
  gw.api_toml = "admin_token_file = \"" + token_file + "\"";
  Stack stack(kFills, gw);
  stack.start_sim();
  stack.start_gateway();
  for (int i = 0; i < 3; ++i) {
    const std::string id = "ours-" + std::to_string(i);
    ASSERT_EQ(stack.post("/v1/orders", Stack::order(id)).status, 201);
    ASSERT_TRUE(stack.wait_for_state(id, "filled")) << id;
  }
  const int sender_before = session_health(stack).value("next_sender", 0);
  ASSERT_GT(sender_before, 3);

  // An operator's mistake: our next number goes below what the broker expects. The broker (a
  // QuickFIX acceptor) answers our Logon with a Logout "MsgSeqNum too low, expecting N ...".
  CliRun wrong = run_cli(stack, token_file, {"set-seq", "sim", "--sender", "1"}, "wrong");
  ASSERT_EQ(wrong.status, 0) << wrong.output;
  ASSERT_TRUE(
      wait_until([&] { return session_health(stack).value("sequence_refused", false); }, 20s))
      << stack.gateway_log();
  const nlohmann::json refused = session_health(stack)["refusal"];
  EXPECT_EQ(refused["side"], "ours_too_low");
  const int expected = refused["expected"];
  EXPECT_GE(expected, sender_before);
  EXPECT_EQ(refused["received"], 1);
  EXPECT_NE(stack.gateway_log().find("logon refused for sequence numbers: our MsgSeqNum too low, "
                                     "expected " +
                                     std::to_string(expected) + ", received 1"),
            std::string::npos);
  ASSERT_TRUE(
      wait_until([&] { return !events_of(stack, "session.sequence_refused").empty(); }, 10s));
  EXPECT_EQ(events_of(stack, "session.sequence_refused").front()["side"], "ours_too_low");

  // The operator sets the number the broker expects: the session logs on, orders flow.
  CliRun fix =
      run_cli(stack, token_file, {"set-seq", "sim", "--sender", std::to_string(expected)}, "fix");
  ASSERT_EQ(fix.status, 0) << fix.output;
  ASSERT_TRUE(wait_until(
      [&] {
        HttpResult h = stack.get("/v1/health");
        return h.status == 200 && h.body["brokers"]["sim"]["logged_on"] == true;
      },
      20s))
      << stack.gateway_log();
  ASSERT_EQ(stack.post("/v1/orders", Stack::order("ours-after")).status, 201);
  EXPECT_TRUE(stack.wait_for_state("ours-after", "filled")) << stack.gateway_log();
  const auto audits = events_of(stack, "session.sequence_set");
  ASSERT_EQ(audits.size(), 2u);
  EXPECT_EQ(audits[0]["after"]["next_sender"], 1);
  EXPECT_GT(audits[1]["before"]["next_sender"].get<int>(), 1);  // our refused Logon, Logout
  EXPECT_EQ(audits[1]["after"]["next_sender"], expected);
}

}  // namespace
}  // namespace brokergw::systest
