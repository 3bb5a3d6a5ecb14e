// The FIX adapter: a QuickFIX initiator for one broker session.
//
// Threads: QuickFIX's initiator thread runs every Application callback (onLogon, fromApp...)
// and calls the listener from there; send_* run on the gateway's dispatcher thread for this
// broker; probe_inbound and inbound_read_up_to_us run on any thread (the gateway's scheduler).
// Shared between them: sent_by_seq_ (under sent_mu_), the InboundProbe (thread-safe itself)
// and the atomics logged_on_ and first_seq_this_logon_.
//
// Inbound probe ("no false silence", adapter.h): probe_inbound sends a TestRequest whose
// TestReqID is ours (inbound_probe.h); fromAdmin, seeing the Heartbeat that answers it, advances
// inbound_read_up_to_us to the TestRequest's send time. QuickFIX's own TestRequests (its
// heartbeat monitoring, TestReqID "TEST") and their Heartbeats are left alone.
//
// Session store: LmdbMessageStoreFactory, in the gateway's store (lmdb_message_store.h says
// which writes wait for the disk and why). Secrets are stripped there before anything is stored.
//
// Session control (session_control.h): a refusal for sequence numbers (QuickFIX's event, or the
// broker's Logout) disables the session on its own thread; the control thread recreates the
// initiator after the backoff or an operator's change. session_mu_ is held shared by every
// other thread using the Session, exclusively only to destroy or replace the initiator.
#include "adapters/fix/fix_adapter.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <sstream>

#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/SocketInitiator.h>
#include <spdlog/spdlog.h>

#include "adapters/fix/fix_mapping.h"
#include "adapters/fix/inbound_probe.h"
#include "adapters/fix/lmdb_message_store.h"
#include "adapters/fix/sequence_refusal.h"
#include "adapters/fix/session_control.h"
#include "adapters/fix/spdlog_fix_log.h"

namespace brokergw::adapters::fix {
namespace {

// What we sent under each recent sequence number (SentRef), to interpret a Reject (3) or BMR (j)
// that refers to it. Bounded: only recent messages can be rejected.
constexpr std::size_t kMaxSentRefs = 100000;

tl::expected<std::string, std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return tl::unexpected("cannot read password_file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  if (s.empty()) return tl::unexpected("password_file " + path + " is empty");
  return s;
}

// "HH:MM:SS" minus one second, wrapping at midnight (the config table checked the format).
std::string one_second_before(const std::string& hhmmss) {
  int total = std::stoi(hhmmss.substr(0, 2)) * 3600 + std::stoi(hhmmss.substr(3, 2)) * 60 +
              std::stoi(hhmmss.substr(6, 2));
  total = (total + 86399) % 86400;
  char out[9];
  std::snprintf(out, sizeof out, "%02d:%02d:%02d", total / 3600, (total / 60) % 60, total % 60);
  return out;
}

class FixAdapter final : public BrokerAdapter, public FIX::Application {
 public:
  FixAdapter(config::BrokerConfig cfg, std::string password, store::Store& store)
      : cfg_(std::move(cfg)),
        password_(std::move(password)),
        session_id_(cfg_.fix_version, cfg_.sender_comp_id, cfg_.target_comp_id),
        store_factory_(
            store, {.retain_messages = 100000, .daily_schedule = cfg_.sequence_reset == "daily"}),
        log_factory_([this](const std::string& text) { on_fix_event(text); }),
        control_(cfg_.name, session_id_.toString(), store,
                 {.start_initiator = [this] { start_initiator(); },
                  .stop_initiator = [this] { stop_initiator(); },
                  .logged_on = [this] { return logged_on_.load(); },
                  .live_sequence = [this] { return live_sequence(); }}) {
    FIX::Dictionary defaults;
    defaults.setString("ConnectionType", "initiator");
    // Always-on session. QuickFIX 1.15.1 reads StartTime == EndTime as a daily window checked
    // against the store's creation time; LmdbMessageStore answers that check so that it always
    // passes (lmdb_message_store.h, "Session window"). Together with the three Reset* = N
    // below, no sequence reset ever happens implicitly: not at a restart, not at midnight.
    // sequence_reset = "daily": the window ends one second before daily_reset_time and the
    // next one starts at it, with sequence numbers reset (the store then answers its real
    // creation time, so QuickFIX sees the new period).
    const bool daily = cfg_.sequence_reset == "daily";
    defaults.setString("StartTime", daily ? cfg_.daily_reset_time : "00:00:00");
    defaults.setString("EndTime", daily ? one_second_before(cfg_.daily_reset_time) : "00:00:00");
    defaults.setInt("HeartBtInt", static_cast<int>(cfg_.heartbeat_interval_s));
    defaults.setInt("ReconnectInterval", static_cast<int>(cfg_.reconnect_interval_s));
    defaults.setString("UseDataDictionary", "Y");
    defaults.setString("DataDictionary", cfg_.data_dictionary);
    // The broker's dialect may add tags our dictionary lacks: user-defined ones (5000-9999),
    // its own (>= 10000), or standard tags where the dictionary does not list them. QuickFIX
    // would answer such a message with a session Reject (35=3) and still count its MsgSeqNum,
    // so the ExecutionReport (a fill) would be lost without ever reaching us. So unknown tags
    // are not checked: ValidateUserDefinedFields=N skips tags >= 5000, AllowUnknownMsgFields=Y
    // skips tags below 5000 that the dictionary lacks or does not list for the message type
    // (QuickFIX 1.15.1, DataDictionary::shouldCheckTag; that also drops its repeating-group
    // count check below 5000, and we read no groups). Still checked: required fields, the
    // format and enum values of every field the dictionary defines, empty values, field order,
    // repeated tags. fix_mapping.cpp checks the fields it reads itself and names them in errors.
    defaults.setString("ValidateUserDefinedFields", "N");
    defaults.setString("AllowUnknownMsgFields", "Y");
    defaults.setString("ResetOnLogon", cfg_.sequence_reset == "on_logon" ? "Y" : "N");
    defaults.setString("ResetOnLogout", "N");
    defaults.setString("ResetOnDisconnect", "N");
    defaults.setString("PersistMessages", "Y");
    defaults.setString("SocketNodelay", "Y");
    defaults.setString("SocketConnectHost", cfg_.host);
    defaults.setInt("SocketConnectPort", cfg_.port);
    settings_.set(defaults);
    settings_.set(session_id_, FIX::Dictionary());
  }

  ~FixAdapter() override { stop(); }

  const std::string& broker() const override { return cfg_.name; }

  void start(AdapterListener& listener) override {
    listener_ = &listener;
    if (!start_initiator()) throw std::runtime_error("broker " + cfg_.name + ": no FIX initiator");
    control_.start();
  }

  void stop() override {
    control_.stop();
    stop_initiator();
  }

  SessionControlStatus session_control() const override { return control_.status(); }

  tl::expected<SequenceChange, std::string> change_sequence(const SequenceRequest& request,
                                                            const SequenceAudit& audit) override {
    return control_.change(request, audit);
  }

  bool logged_on() const override { return logged_on_.load(); }

  SendResult send_new_order(const core::Order& order, bool poss_resend) override {
    FIX::Message msg = build_new_order_single(order, poss_resend);
    return send(msg, "NewOrderSingle " + order.request.client_order_id);
  }

  SendResult send_status_request(const core::Order& order) override {
    FIX::Message msg = build_status_request(order);
    return send(msg, "OrderStatusRequest " + order.request.client_order_id);
  }

  SendResult send_cancel(const core::Order& order, std::string_view cancel_id) override {
    FIX::Message msg = build_cancel_request(order, cancel_id);
    return send(msg, "OrderCancelRequest " + std::string(cancel_id));
  }

  // Two proofs (adapter.h): a TestRequest answered (probe_), or the session thread idle. QuickFIX's
  // one session thread reads whatever the socket holds at once and hands each message to
  // fromApp/fromAdmin; when no callback has run for kIdleProofUs, the socket held nothing
  // unread during that time, so everything that arrived before it has been applied. A busy
  // reader (a backlog in our own socket) never looks idle, so only a probe can prove it.
  core::TimestampUs inbound_read_up_to_us() const override {
    core::TimestampUs proven = probe_.read_up_to_us();
    if (logged_on_ && in_callback_.load() == 0) {
      const core::TimestampUs now = wall_now_us();
      if (now - last_callback_us_.load() >= kIdleProofUs) {
        proven = std::max(proven, now - kIdleProofUs);
      }
    }
    return proven;
  }

  void probe_inbound(core::TimestampUs now_us) override {
    if (!logged_on_) return;
    std::shared_lock session_lock(session_mu_);
    std::optional<std::string> id = probe_.begin(now_us);
    if (!id) return;  // one of ours is outstanding and recent
    FIX::Message msg = build_test_request(*id);
    try {
      // An admin message: QuickFIX calls toAdmin (which leaves it alone) and stores it under its
      // sequence number; a resend of it is gap-filled. True even when the session went down
      // meanwhile (then it is only stored): that probe stays unanswered and the next logon
      // forgets it.
      if (FIX::Session::sendToTarget(msg, session_id_)) {
        spdlog::debug("broker {}: TestRequest {} sent (inbound probe)", cfg_.name, *id);
        return;
      }
      spdlog::warn("broker {}: TestRequest {} not sent", cfg_.name, *id);
    } catch (const std::exception& e) {
      spdlog::warn("broker {}: TestRequest {} not sent: {}", cfg_.name, *id, e.what());
    }
    probe_.abandon(*id);
  }

  // ---- FIX::Application -----------------------------------------------------------------

  void onCreate(const FIX::SessionID&) override {}

  void onLogon(const FIX::SessionID& id) override {
    // Application messages are sent only while logged on, so every one from this logon on
    // has at least the sequence number the session expects to send next now.
    if (FIX::Session* session = FIX::Session::lookupSession(id)) {
      first_seq_this_logon_ = session->getExpectedSenderNum();
    }
    probe_.reset();
    logged_on_ = true;
    control_.on_logon();
    spdlog::info("broker {}: logged on", cfg_.name);
    if (listener_) listener_->on_session_state(cfg_.name, true, "logon");
  }

  void onLogout(const FIX::SessionID&) override {
    logged_on_ = false;
    probe_.reset();
    spdlog::warn("broker {}: logged out", cfg_.name);
    if (listener_) listener_->on_session_state(cfg_.name, false, "logout");
  }

  void toAdmin(FIX::Message& msg, const FIX::SessionID&) override {
    if (msg.getHeader().getField(FIX::FIELD::MsgType) == FIX::MsgType_Logon) {
      if (!cfg_.username.empty()) msg.setField(FIX::FIELD::Username, cfg_.username);
      if (!password_.empty()) msg.setField(FIX::FIELD::Password, password_);
    }
  }

  void toApp(FIX::Message& msg, const FIX::SessionID&) throw(FIX::DoNotSend) override {
    const std::string& seq = msg.getHeader().getField(FIX::FIELD::MsgSeqNum);
    // A session-level resend (PossDupFlag=Y) of a message sent before this logon would replay
    // a possibly stale order behind the gateway's back: whether such an order goes again is
    // the order core's decision (status query, then the same ClOrdID with PossResend), so the
    // session gap-fills it. A message of the current logon that the broker asks for again
    // (typically one that crossed the broker's ResendRequest after a reconnect) is resent:
    // it is seconds old, and PossDupFlag with the same ClOrdID lets the broker drop a copy.
    if (msg.getHeader().isSetField(FIX::FIELD::PossDupFlag) &&
        msg.getHeader().getField(FIX::FIELD::PossDupFlag) == "Y" &&
        std::stoi(seq) < first_seq_this_logon_.load()) {
      throw FIX::DoNotSend();
    }
    SentRef ref = sent_ref_of(msg);
    std::lock_guard lock(sent_mu_);
    sent_by_seq_[std::stoi(seq)] = std::move(ref);
    while (sent_by_seq_.size() > kMaxSentRefs) sent_by_seq_.erase(sent_by_seq_.begin());
  }

  void fromAdmin(const FIX::Message& msg,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue, FIX::RejectLogon) override {
    CallbackScope busy(*this);
    const std::string& type = msg.getHeader().getField(FIX::FIELD::MsgType);
    if (type == FIX::MsgType_Logout && msg.isSetField(FIX::FIELD::Text)) {
      const std::string& text = msg.getField(FIX::FIELD::Text);
      if (auto refusal = parse_refusal_logout(text)) on_refusal(*refusal, text);
    } else if (type == FIX::MsgType_Reject) {
      deliver_reject(parse_session_reject(msg, cfg_.name, sent_ref(msg)), msg, "session Reject");
    } else if (type == FIX::MsgType_Heartbeat && msg.isSetField(FIX::FIELD::TestReqID)) {
      // Everything the broker sent before this Heartbeat has been through fromApp (and the
      // listener) by now: QuickFIX calls us in MsgSeqNum order on this one thread.
      const std::string& id = msg.getField(FIX::FIELD::TestReqID);
      if (auto sent_us = probe_.answered(id)) {
        spdlog::debug("broker {}: Heartbeat for TestRequest {}: inbound read up to {} us",
                      cfg_.name, id, *sent_us);
      }
    }
  }

  void fromApp(const FIX::Message& msg,
               const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                            FIX::IncorrectTagValue,
                                            FIX::UnsupportedMessageType) override {
    CallbackScope busy(*this);
    const std::string& type = msg.getHeader().getField(FIX::FIELD::MsgType);
    if (type == FIX::MsgType_ExecutionReport) {
      deliver(parse_execution_report(msg, cfg_.name), msg);
    } else if (type == FIX::MsgType_OrderCancelReject) {
      deliver(parse_cancel_reject(msg, cfg_.name), msg);
    } else if (type == FIX::MsgType_BusinessMessageReject) {
      deliver_reject(parse_business_reject(msg, cfg_.name, sent_ref(msg)), msg,
                     "BusinessMessageReject");
    } else {
      throw FIX::UnsupportedMessageType();
    }
  }

 private:
  // ---- Session control (session_control.h) ----------------------------------------------

  // Main thread (start) or the control thread. Returns false when the initiator cannot start.
  bool start_initiator() {
    try {
      auto made =
          std::make_unique<FIX::SocketInitiator>(*this, store_factory_, settings_, log_factory_);
      {
        std::unique_lock lock(session_mu_);
        initiator_ = std::move(made);
      }
      initiator_->start();
    } catch (const std::exception& e) {
      // The session store could not be loaded (or the settings were refused): nothing can be
      // sent to this broker, and guessing sequence numbers is not an option.
      spdlog::critical("broker {}: cannot start the FIX initiator: {}", cfg_.name, e.what());
      return false;
    }
    spdlog::info("broker {}: FIX initiator started towards {}:{} as {}", cfg_.name, cfg_.host,
                 cfg_.port, session_id_.toString());
    return true;
  }

  // Main thread (stop) or the control thread: logs out (QuickFIX waits at most 10 s for the
  // broker's answer), joins the session thread, then destroys the session exclusively.
  void stop_initiator() {
    if (!initiator_) return;
    initiator_->stop();
    {
      std::unique_lock lock(session_mu_);
      initiator_.reset();
    }
    if (logged_on_.exchange(false) && listener_) {
      listener_->on_session_state(cfg_.name, false, "initiator stopped");
    }
    spdlog::info("broker {}: FIX initiator stopped", cfg_.name);
  }

  std::optional<SessionSequence> live_sequence() {
    std::shared_lock lock(session_mu_);
    FIX::Session* session = FIX::Session::lookupSession(session_id_);
    if (!session) return std::nullopt;
    try {
      return SessionSequence{session->getExpectedSenderNum(), session->getExpectedTargetNum()};
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // Every QuickFIX session event (SpdlogLogFactory); only refusals matter here.
  void on_fix_event(const std::string& text) {
    if (auto refusal = parse_refusal_event(text)) on_refusal(*refusal, text);
  }

  // Session thread: we refused the broker's MsgSeqNum, or its Logout refused ours.
  void on_refusal(const ParsedRefusal& parsed, const std::string& text) {
    FIX::Session* session = FIX::Session::lookupSession(session_id_);
    const SequenceRefusal r = make_refusal(parsed, mask_secrets(text), wall_now_us(),
                                           session ? session->getExpectedSenderNum() - 1 : 0);
    // No reconnect until the backoff has passed (this is the session's own thread).
    if (session) session->logout("sequence numbers refused");
    if (listener_) listener_->on_sequence_refused(cfg_.name, r);
    control_.on_refused(r);  // logs it
  }

  SendResult send(FIX::Message& msg, const std::string& what) {
    if (!logged_on_) return tl::unexpected(SendError{SendErrc::kSessionDown, "not logged on"});
    std::shared_lock session_lock(session_mu_);
    try {
      // false: the session was not logged on after all (the message is stored under a
      // sequence number and will be gap-filled, never replayed) or the store failed.
      if (!FIX::Session::sendToTarget(msg, session_id_)) {
        return tl::unexpected(SendError{SendErrc::kSessionDown, what + " not sent"});
      }
    } catch (const FIX::SessionNotFound&) {
      return tl::unexpected(SendError{SendErrc::kSessionDown, "session not found"});
    }
    return {};
  }

  SentRef sent_ref(const FIX::Message& msg) {
    if (!msg.isSetField(FIX::FIELD::RefSeqNum)) return {};
    int seq = 0;
    try {
      seq = std::stoi(msg.getField(FIX::FIELD::RefSeqNum));
    } catch (const std::exception&) {
      return {};
    }
    std::lock_guard lock(sent_mu_);
    auto it = sent_by_seq_.find(seq);
    return it == sent_by_seq_.end() ? SentRef{} : it->second;
  }

  void deliver(ParseResult parsed, const FIX::Message& msg) {
    if (!parsed) {
      // Journaled raw (an anomaly event) before QuickFIX rejects it and counts its MsgSeqNum:
      // the broker learns we could not read it, and an operator sees exactly what it was.
      spdlog::error("broker {}: unusable message ({}): {}", cfg_.name, parsed.error(),
                    mask_secrets(msg.toString()));
      if (listener_) listener_->on_report(unparseable_report(msg, cfg_.name, parsed.error()));
      throw FIX::IncorrectDataFormat(0, parsed.error());
    }
    if (!parsed->has_value()) return;  // informational
    if (!listener_) return;
    const bool execution =
        msg.getHeader().getField(FIX::FIELD::MsgType) == FIX::MsgType_ExecutionReport;
    if (listener_->on_report(std::move(**parsed)) == ReportOutcome::kUnknownOrder && execution &&
        cfg_.dont_know_trade) {
      send_dont_know_trade(msg);
    }
  }

  // DontKnowTrade (35=Q) for an execution report of no order of ours, for brokers whose rules
  // of engagement ask for it (dont_know_trade): DKReason D (no matching order).
  void send_dont_know_trade(const FIX::Message& report) {
    FIX::Message dk = build_dont_know_trade(report);
    try {
      if (FIX::Session::sendToTarget(dk, session_id_)) {
        spdlog::warn("broker {}: DontKnowTrade sent for ExecID {}", cfg_.name,
                     report.isSetField(FIX::FIELD::ExecID) ? report.getField(FIX::FIELD::ExecID)
                                                           : std::string("?"));
        return;
      }
    } catch (const std::exception& e) {
      spdlog::warn("broker {}: DontKnowTrade not sent: {}", cfg_.name, e.what());
      return;
    }
    spdlog::warn("broker {}: DontKnowTrade not sent (session down)", cfg_.name);
  }

  // A reject that names no order of ours (it refers to an admin message, or to one sent before
  // a restart without a business id) changes nothing, but an operator should see it.
  void deliver_reject(ParseResult parsed, const FIX::Message& msg, const char* what) {
    if (parsed && !parsed->has_value()) {
      spdlog::warn("broker {}: {} that names no order of ours: {}", cfg_.name, what,
                   mask_secrets(msg.toString()));
      return;
    }
    deliver(std::move(parsed), msg);
  }

  config::BrokerConfig cfg_;
  std::string password_;  // from password_file; only ever placed in the outgoing Logon
  FIX::SessionID session_id_;
  FIX::SessionSettings settings_;
  LmdbMessageStoreFactory store_factory_;
  SpdlogLogFactory log_factory_;
  // Replaced only by the control thread (and main before start/after stop), under session_mu_.
  std::unique_ptr<FIX::SocketInitiator> initiator_;
  mutable std::shared_mutex session_mu_;
  AdapterListener* listener_ = nullptr;
  std::atomic<bool> logged_on_{false};
  // The idle proof: callbacks running now, and when one last began or ended (wall clock).
  static constexpr core::TimestampUs kIdleProofUs = 50'000;
  static core::TimestampUs wall_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  struct CallbackScope {
    explicit CallbackScope(FixAdapter& a) : a_(a) {
      a_.in_callback_++;
      a_.last_callback_us_ = wall_now_us();
    }
    ~CallbackScope() {
      a_.last_callback_us_ = wall_now_us();
      a_.in_callback_--;
    }
    FixAdapter& a_;
  };
  std::atomic<int> in_callback_{0};
  std::atomic<core::TimestampUs> last_callback_us_{0};
  std::atomic<int> first_seq_this_logon_{INT32_MAX};
  InboundProbe probe_;
  std::mutex sent_mu_;
  std::map<int, SentRef> sent_by_seq_;
  SessionControl control_;  // last: its thread uses the members above
};

}  // namespace

tl::expected<std::unique_ptr<BrokerAdapter>, std::string> make_fix_adapter(
    const config::BrokerConfig& broker, const std::string& state_dir, store::Store& store) {
  const std::string who = "broker " + broker.name + ": ";
  if (broker.fix_version != "FIX.4.4" && broker.fix_version != "FIX.4.2") {
    return tl::unexpected(who + "fix_version " + broker.fix_version + " is not supported");
  }
  try {
    FIX::DataDictionary dictionary(broker.data_dictionary);
    if (dictionary.getVersion() != broker.fix_version) {
      return tl::unexpected(who + "data_dictionary " + broker.data_dictionary + " is for " +
                            dictionary.getVersion() + ", not " + broker.fix_version);
    }
  } catch (const std::exception& e) {
    return tl::unexpected(who + "data_dictionary " + broker.data_dictionary +
                          " does not load: " + e.what());
  }
  std::string password;
  if (!broker.password_file.empty()) {
    auto secret = read_secret_file(broker.password_file);
    if (!secret) return tl::unexpected(who + secret.error());
    password = std::move(*secret);
  }
  // Sessions of an earlier version lived in QuickFIX FileStore files; their sequence numbers
  // move into the store once, so an upgrade is not a sequence reset.
  const std::string legacy_dir = (std::filesystem::path(state_dir) / "fix" / broker.name).string();
  const FIX::SessionID session(broker.fix_version, broker.sender_comp_id, broker.target_comp_id);
  if (auto imported = import_file_store(store, legacy_dir, session); !imported) {
    return tl::unexpected(who + imported.error());
  }
  try {
    return std::unique_ptr<BrokerAdapter>(new FixAdapter(broker, std::move(password), store));
  } catch (const std::exception& e) {
    return tl::unexpected(who + "invalid FIX session settings: " + e.what());
  }
}

}  // namespace brokergw::adapters::fix
