// The simulator's QuickFIX side: the acceptor Application that journals and parses incoming
// application messages (and refuses QuickFIX's resends with resend = "gap_fill"), the sender
// that sends engine answers (built by sim/fix_messages.h) and carries out the session faults
// (disconnect, skipped sequence numbers, duplicated reports, sequence reset), and a QuickFIX
// log that writes every message (in and out, admin and app) through spdlog with secrets
// masked. With sim/fix_messages.* and main, the only part of the simulator that sees QuickFIX.
//
// Threads: SimApplication's callbacks and SpdlogLog run on the QuickFIX acceptor thread (and
// toApp also on the engine thread, inside sendToTarget); FixSender::deliver runs on the engine
// thread (Session::sendToTarget is thread-safe); FixSender::disconnect_now and reset_seq_nums
// may run on any thread (the engine thread, the control file thread, main).
//
// Invariants: a received application message is journaled (and flushed) before it is handed
// to the engine; admin messages are never journaled; credentials never reach a log or the
// journal unmasked; a duplicated report is the same FIX body as its original (same ExecID,
// same TransactTime); the FIX socket is only ever closed by QuickFIX's own acceptor thread
// (a disconnect fault shuts the socket down and lets QuickFIX notice, because QuickFIX's
// SocketMonitor is not thread-safe).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include <quickfix/Application.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/SessionID.h>

#include "sim/config.h"
#include "sim/engine_runner.h"
#include "sim/journal.h"

namespace brokergw::sim {

// Whether the gateway is logged on, as QuickFIX last told SimApplication. Any thread.
class SessionStatus {
 public:
  void set_logged_on(bool logged_on);
  bool logged_on();
  // Waits until the session is not logged on; false on timeout.
  bool wait_logged_out(std::chrono::milliseconds timeout);
  // reset_seq: asks for the sequence numbers to be reset at the gateway's next Logon; the
  // acceptor thread takes the request (true once per request).
  void request_seq_reset() { seq_reset_pending_ = true; }
  bool take_seq_reset() { return seq_reset_pending_.exchange(false); }

 private:
  std::atomic<bool> seq_reset_pending_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  bool logged_on_ = false;  // guarded by mutex_
};

class FixSender final : public OutgoingSink {
 public:
  // `listen_port` identifies the FIX connections in this process (sockets whose local port
  // it is and that have a peer).
  FixSender(FIX::SessionID session, SessionStatus& status, std::uint16_t listen_port)
      : session_(std::move(session)), status_(status), listen_port_(listen_port) {}
  void deliver(const Outgoing& message) override;

  // Drops the FIX connection now, without a Logout, and waits (bounded) until QuickFIX has
  // noticed, so that what is sent next is stored for a resend instead of written to a dead
  // socket. Any thread.
  void disconnect_now(const std::string& reason);

  // reset_seq: drops the connection (disconnect_now) and has the sequence numbers reset to 1
  // at the gateway's next Logon (reset_session_store, on the acceptor thread, before QuickFIX
  // answers it), as a counterparty that restarted at 1 without telling anyone. Any thread.
  void reset_seq_nums(const std::string& reason);

 private:
  void send_report(const ExecReportOut& report);
  void skip_seq_nums(std::int64_t count);
  void send(FIX::Message& message);

  FIX::SessionID session_;
  SessionStatus& status_;
  const std::uint16_t listen_port_;
  // The last original execution report sent (header filled in by QuickFIX), for its copies.
  // Engine thread only.
  std::optional<FIX::Message> last_report_;
  std::string last_exec_id_;
};

// Resets the session's MessageStore: next outbound and expected inbound MsgSeqNum 1, stored
// messages dropped; exactly what QuickFIX does for a Logon with ResetSeqNumFlag=Y, without a
// Logout or a disconnect. Call before the acceptor starts, or on the acceptor thread. False
// (logged) when the session does not exist or the store fails.
bool reset_session_store(const FIX::SessionID& session, const std::string& reason);

class SimApplication final : public FIX::Application {
 public:
  SimApplication(const SimConfig& config, Journal& journal, EngineRunner& runner,
                 SessionStatus& status)
      : config_(config), journal_(journal), runner_(runner), status_(status) {}

  void onCreate(const FIX::SessionID& session) override;
  void onLogon(const FIX::SessionID& session) override;
  void onLogout(const FIX::SessionID& session) override;
  void toAdmin(FIX::Message& message, const FIX::SessionID& session) override;
  void toApp(FIX::Message& message, const FIX::SessionID& session) throw(FIX::DoNotSend) override;
  void fromAdmin(const FIX::Message& message,
                 const FIX::SessionID& session) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                      FIX::IncorrectTagValue,
                                                      FIX::RejectLogon) override;
  void fromApp(const FIX::Message& message,
               const FIX::SessionID& session) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                    FIX::IncorrectTagValue,
                                                    FIX::UnsupportedMessageType) override;

 private:
  void reject_busy(const FIX::Message& message, const FIX::SessionID& session);

  const SimConfig& config_;
  Journal& journal_;
  EngineRunner& runner_;
  SessionStatus& status_;
};

// QuickFIX log -> spdlog. One instance per session plus one global (events without a session).
// onIncoming also remembers the received string for the current thread, so that fromApp can
// journal the exact bytes (QuickFIX calls both on its acceptor thread, log first).
class SpdlogLog final : public FIX::Log {
 public:
  explicit SpdlogLog(std::string prefix) : prefix_(std::move(prefix)) {}
  void clear() override {}
  void backup() override {}
  void onIncoming(const std::string& message) override;
  void onOutgoing(const std::string& message) override;
  void onEvent(const std::string& text) override;

 private:
  std::string prefix_;
};

class SpdlogLogFactory final : public FIX::LogFactory {
 public:
  FIX::Log* create() override;
  FIX::Log* create(const FIX::SessionID& session) override;
  void destroy(FIX::Log* log) override;
};

}  // namespace brokergw::sim
