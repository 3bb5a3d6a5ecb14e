// The simulator's QuickFIX side: the acceptor Application that journals and parses incoming
// application messages, the sender that turns engine answers into FIX 4.4 messages, and a
// QuickFIX log that writes every message (in and out, admin and app) through spdlog with
// secrets masked. This is the only part of the simulator that sees QuickFIX types.
//
// Threads: SimApplication's callbacks and SpdlogLog run on the QuickFIX acceptor thread;
// FixSender::deliver runs on the engine thread (Session::sendToTarget is thread-safe).
//
// Invariants: a received application message is journaled (and flushed) before it is handed
// to the engine; admin messages are never journaled; credentials never reach a log or the
// journal unmasked.
#pragma once

#include <string>

#include <quickfix/Application.h>
#include <quickfix/Log.h>
#include <quickfix/Message.h>
#include <quickfix/SessionID.h>

#include "sim/config.h"
#include "sim/engine_runner.h"
#include "sim/journal.h"

namespace brokergw::sim {

class FixSender final : public OutgoingSink {
 public:
  explicit FixSender(FIX::SessionID session) : session_(std::move(session)) {}
  void deliver(const Outgoing& message) override;

 private:
  FIX::SessionID session_;
};

class SimApplication final : public FIX::Application {
 public:
  SimApplication(const SimConfig& config, Journal& journal, EngineRunner& runner)
      : config_(config), journal_(journal), runner_(runner) {}

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
