#include "sim/fix_app.h"

#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <charconv>
#include <chrono>
#include <type_traits>
#include <variant>

#include <quickfix/Exceptions.h>
#include <quickfix/FieldNumbers.h>
#include <quickfix/Fields.h>
#include <quickfix/Session.h>
#include <spdlog/spdlog.h>

#include "sim/fix_messages.h"

namespace brokergw::sim {
namespace {

namespace tag = FIX::FIELD;

// The last message QuickFIX received on this thread, exactly as it came off the wire. QuickFIX
// hands every incoming string to the session log (SpdlogLog::onIncoming) just before it parses
// and dispatches it on the same thread, so fromApp can journal the real bytes.
thread_local std::string t_last_incoming;

// Set by FixSender on the engine thread around the sendToTarget of a PossDup copy, read by
// SimApplication::toApp inside that call: QuickFIX's Session::send strips PossDupFlag and
// OrigSendingTime from a message before sending it, and toApp is the hook that runs after
// that (and after the header is filled in) but before the message is serialized and stored.
struct PossDupMark {
  bool active = false;
  std::string orig_sending_time;  // empty: use the message's own SendingTime
};
thread_local PossDupMark t_poss_dup;

// The received bytes of `message` when t_last_incoming is that message (same MsgSeqNum and
// MsgType); otherwise (a message QuickFIX queued for a sequence gap and processes later) its
// re-serialization, in QuickFIX's canonical field order.
std::string received_text(const FIX::Message& message) {
  const FIX::Header& header = message.getHeader();
  const std::string seq = std::string("\x01") + "34=" + header.getField(tag::MsgSeqNum) + "\x01";
  const std::string type = std::string("\x01") + "35=" + header.getField(tag::MsgType) + "\x01";
  if (t_last_incoming.find(seq) != std::string::npos &&
      t_last_incoming.find(type) != std::string::npos) {
    return t_last_incoming;
  }
  return message.toString();
}

std::string optional_field(const FIX::FieldMap& map, int field) {
  return map.isSetField(field) ? map.getField(field) : std::string();
}

char char_field(const FIX::FieldMap& map, int field) {
  const std::string value = optional_field(map, field);
  return value.empty() ? '\0' : value.front();
}

bool flag_set(const FIX::FieldMap& map, int field) { return optional_field(map, field) == "Y"; }

std::int64_t int_field(const FIX::FieldMap& map, int field) {
  const std::string value = optional_field(map, field);
  std::int64_t out = 0;
  std::from_chars(value.data(), value.data() + value.size(), out);
  return out;
}

std::int64_t wall_clock_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Shuts down every connected TCP socket of this process whose local port is `port`: the FIX
// connections accepted on the listener (the listener itself has no peer and is kept). QuickFIX
// selects on these sockets, so they are all below FD_SETSIZE. shutdown() only changes the
// connection, not the descriptor, so it is safe beside QuickFIX's thread, which then reads
// end-of-file and closes the socket itself.
int shut_down_connections(std::uint16_t port) {
  int count = 0;
  for (int fd = 0; fd < FD_SETSIZE; ++fd) {
    sockaddr_in local{};
    socklen_t length = sizeof local;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) != 0) continue;
    if (local.sin_family != AF_INET || local.sin_port != htons(port)) continue;
    sockaddr_in peer{};
    length = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) continue;
    if (shutdown(fd, SHUT_RDWR) == 0) ++count;
  }
  return count;
}

constexpr std::chrono::milliseconds kDisconnectWait{2000};

}  // namespace

// ---- SessionStatus (any thread) ----

void SessionStatus::set_logged_on(bool logged_on) {
  {
    std::lock_guard lock(mutex_);
    logged_on_ = logged_on;
  }
  changed_.notify_all();
}

bool SessionStatus::logged_on() {
  std::lock_guard lock(mutex_);
  return logged_on_;
}

bool SessionStatus::wait_logged_out(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return !logged_on_; });
}

// ---- FixSender (engine thread; disconnect_now any thread) ----

void FixSender::deliver(const Outgoing& message) {
  std::visit(
      [this](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ExecReportOut>) {
          send_report(m);
        } else if constexpr (std::is_same_v<T, DisconnectOut>) {
          disconnect_now(m.reason);
        } else if constexpr (std::is_same_v<T, SkipSeqNumsOut>) {
          skip_seq_nums(m.count);
        } else if constexpr (std::is_same_v<T, NoticeOut>) {
          if (m.warning) {
            spdlog::warn("{}", m.text);
          } else {
            spdlog::info("{}", m.text);
          }
        } else {
          FIX::Message fix = build_message(m);
          send(fix);
        }
      },
      message);
}

void FixSender::send(FIX::Message& message) {
  try {
    // When the gateway is not logged on, QuickFIX stores the message under its sequence number
    // and sends it on the gateway's next ResendRequest, as a real broker would.
    FIX::Session::sendToTarget(message, session_);
  } catch (const FIX::SessionNotFound&) {
    spdlog::error("cannot send {}: session {} not found", printable_fix(message.toString()),
                  session_.toString());
  } catch (const std::exception& e) {
    spdlog::error("cannot send {}: {}", printable_fix(message.toString()), e.what());
  }
}

void FixSender::send_report(const ExecReportOut& report) {
  if (report.copy == ReportCopy::kOriginal) {
    FIX::Message fix = build_message(report);
    send(fix);
    last_report_ = std::move(fix);  // now with the header QuickFIX filled in
    last_exec_id_ = report.exec_id;
    return;
  }

  // A copy: the original's body again, so that even TransactTime is identical.
  const bool have_original = last_report_ && last_exec_id_ == report.exec_id;
  if (!have_original) {
    spdlog::warn("duplicate of ExecID {} does not follow its original; building it again",
                 report.exec_id);
  }
  FIX::Message fix = have_original ? *last_report_ : build_message(report);
  if (report.copy == ReportCopy::kPossDupCopy) {
    t_poss_dup.active = true;
    t_poss_dup.orig_sending_time.clear();
    if (have_original && last_report_->getHeader().isSetField(tag::SendingTime)) {
      t_poss_dup.orig_sending_time = last_report_->getHeader().getField(tag::SendingTime);
    }
  }
  send(fix);
  t_poss_dup = PossDupMark{};
}

void FixSender::skip_seq_nums(std::int64_t count) {
  FIX::Session* session = FIX::Session::lookupSession(session_);
  if (session == nullptr) {
    spdlog::error("cannot skip sequence numbers: session {} not found", session_.toString());
    return;
  }
  try {
    // Not atomic with QuickFIX's own sends: a heartbeat sent by the acceptor thread between
    // these two calls would make the gap one smaller.
    const int next = session->getExpectedSenderNum();
    const int skipped_to = next + static_cast<int>(count);
    session->setNextSenderMsgSeqNum(skipped_to);
    spdlog::info("fault: skipped outbound MsgSeqNum {}..{}; the next message has {}", next,
                 skipped_to - 1, skipped_to);
  } catch (const std::exception& e) {
    spdlog::error("cannot skip sequence numbers: {}", e.what());
  }
}

void FixSender::disconnect_now(const std::string& reason) {
  const int dropped = shut_down_connections(listen_port_);
  if (dropped == 0) {
    spdlog::warn("fault: disconnect ({}): no FIX connection to drop", reason);
    return;
  }
  spdlog::info("fault: disconnect ({}): dropped {} connection(s) without Logout", reason, dropped);
  if (!status_.wait_logged_out(kDisconnectWait)) {
    spdlog::warn("fault: disconnect ({}): QuickFIX still reports the session logged on after {} ms",
                 reason, kDisconnectWait.count());
  }
}

void FixSender::reset_seq_nums(const std::string& reason) {
  status_.request_seq_reset();
  spdlog::info("fault: reset_seq ({}): sequence numbers go back to 1 at the gateway's next Logon",
               reason);
  if (status_.logged_on()) disconnect_now(reason);
}

bool reset_session_store(const FIX::SessionID& session_id, const std::string& reason) {
  FIX::Session* session = FIX::Session::lookupSession(session_id);
  if (session == nullptr) {
    spdlog::error("fault: reset_seq ({}): session {} not found", reason, session_id.toString());
    return false;
  }
  try {
    const int sender = session->getExpectedSenderNum();
    const int target = session->getExpectedTargetNum();
    // getStore() is the session's SessionState (a locking MessageStore), handed out const;
    // its reset() is the one Session::nextLogon runs for ResetSeqNumFlag=Y. Session::reset()
    // would also write a Logout and close the socket from this thread.
    const_cast<FIX::MessageStore*>(session->getStore())->reset();
    spdlog::info(
        "fault: reset_seq ({}): next outbound MsgSeqNum {} -> {}, next expected inbound "
        "{} -> {}; stored messages dropped",
        reason, sender, session->getExpectedSenderNum(), target, session->getExpectedTargetNum());
    return true;
  } catch (const std::exception& e) {
    spdlog::error("fault: reset_seq ({}): {}", reason, e.what());
    return false;
  }
}

// ---- SimApplication (QuickFIX acceptor thread) ----

void SimApplication::onCreate(const FIX::SessionID& session) {
  spdlog::info("session {} created", session.toString());
}

void SimApplication::onLogon(const FIX::SessionID& session) {
  status_.set_logged_on(true);
  spdlog::info("session {} logged on", session.toString());
}

void SimApplication::onLogout(const FIX::SessionID& session) {
  status_.set_logged_on(false);
  spdlog::info("session {} logged out", session.toString());
}

void SimApplication::toAdmin(FIX::Message&, const FIX::SessionID&) {}

void SimApplication::toApp(FIX::Message& message, const FIX::SessionID&) throw(FIX::DoNotSend) {
  FIX::Header& header = message.getHeader();
  if (!t_poss_dup.active) {
    // Session::send strips PossDupFlag from what the simulator sends, so a message that has it
    // here is QuickFIX resending a stored message (Session::resend, on the acceptor thread,
    // answering a ResendRequest). Refusing it makes QuickFIX gap-fill over its MsgSeqNum.
    if (config_.resend == ResendPolicy::kGapFill && flag_set(header, tag::PossDupFlag)) {
      spdlog::info(
          "fault: resend of MsgSeqNum {} (35={}) refused (resend = \"gap_fill\"); "
          "QuickFIX gap-fills over it",
          optional_field(header, tag::MsgSeqNum), optional_field(header, tag::MsgType));
      throw FIX::DoNotSend();
    }
    return;
  }
  header.setField(tag::PossDupFlag, "Y");
  header.setField(tag::OrigSendingTime, t_poss_dup.orig_sending_time.empty()
                                            ? header.getField(tag::SendingTime)
                                            : t_poss_dup.orig_sending_time);
}

void SimApplication::fromAdmin(const FIX::Message& message, const FIX::SessionID& session) throw(
    FIX::FieldNotFound, FIX::IncorrectDataFormat, FIX::IncorrectTagValue, FIX::RejectLogon) {
  if (message.getHeader().getField(tag::MsgType) != FIX::MsgType_Logon) return;
  const bool user_ok = config_.logon_username.empty() ||
                       optional_field(message, tag::Username) == config_.logon_username;
  const bool password_ok = config_.logon_password.empty() ||
                           optional_field(message, tag::Password) == config_.logon_password;
  if (!user_ok || !password_ok) {
    spdlog::warn("session {}: logon refused: wrong {}", session.toString(),
                 user_ok ? "password" : "username");
    throw FIX::RejectLogon("invalid credentials");
  }
  // QuickFIX has checked the Logon's MsgSeqNum against the old numbers (not too low) and
  // answers it after this callback, with the new ones: its Logon has MsgSeqNum 1, and a
  // gateway Logon above 1 is "too high" (a ResendRequest from 1 follows).
  if (status_.take_seq_reset()) reset_session_store(session, "reset_seq, at Logon");
}

void SimApplication::fromApp(const FIX::Message& message,
                             const FIX::SessionID& session) throw(FIX::FieldNotFound,
                                                                  FIX::IncorrectDataFormat,
                                                                  FIX::IncorrectTagValue,
                                                                  FIX::UnsupportedMessageType) {
  const FIX::Header& header = message.getHeader();
  const std::string msg_type = header.getField(tag::MsgType);

  // Journal first: tests count what arrived, whatever the simulator then does with it.
  JournalEntry entry;
  entry.ts_us = wall_clock_us();
  entry.msg_type = msg_type;
  if (message.isSetField(tag::ClOrdID)) entry.cl_ord_id = message.getField(tag::ClOrdID);
  entry.msg_seq_num = int_field(header, tag::MsgSeqNum);
  entry.poss_resend = flag_set(header, tag::PossResend);
  entry.poss_dup = flag_set(header, tag::PossDupFlag);
  entry.raw = received_text(message);
  if (const auto written = journal_.append(entry); !written) {
    spdlog::critical("{}", written.error());
  }

  Inbound request;
  if (msg_type == FIX::MsgType_NewOrderSingle) {
    NewOrderIn order;
    order.cl_ord_id = message.getField(tag::ClOrdID);
    order.account = optional_field(message, tag::Account);
    order.symbol = message.getField(tag::Symbol);
    order.side = char_field(message, tag::Side);
    order.ord_type = char_field(message, tag::OrdType);
    if (message.isSetField(tag::OrderQty)) order.order_qty = message.getField(tag::OrderQty);
    if (message.isSetField(tag::Price)) order.price = message.getField(tag::Price);
    order.poss_resend = entry.poss_resend;
    request = std::move(order);
  } else if (msg_type == FIX::MsgType_OrderCancelRequest) {
    CancelIn cancel;
    cancel.cl_ord_id = message.getField(tag::ClOrdID);
    cancel.orig_cl_ord_id = message.getField(tag::OrigClOrdID);
    cancel.symbol = message.getField(tag::Symbol);
    cancel.side = char_field(message, tag::Side);
    request = std::move(cancel);
  } else if (msg_type == FIX::MsgType_OrderStatusRequest) {
    StatusIn status;
    status.cl_ord_id = message.getField(tag::ClOrdID);
    status.symbol = message.getField(tag::Symbol);
    status.side = char_field(message, tag::Side);
    status.ord_status_req_id = optional_field(message, tag::OrdStatusReqID);
    status.msg_seq_num = entry.msg_seq_num;
    request = std::move(status);
  } else if (msg_type == FIX::MsgType_OrderMassStatusRequest) {
    MassStatusIn mass;
    mass.mass_status_req_id = message.getField(tag::MassStatusReqID);
    mass.mass_status_req_type = static_cast<int>(int_field(message, tag::MassStatusReqType));
    mass.symbol = optional_field(message, tag::Symbol);
    mass.side = char_field(message, tag::Side);
    mass.msg_seq_num = entry.msg_seq_num;
    request = std::move(mass);
  } else {
    // QuickFIX answers with BusinessMessageReject(j), BusinessRejectReason=3.
    throw FIX::UnsupportedMessageType();
  }

  if (!runner_.submit(std::move(request))) reject_busy(message, session);
}

void SimApplication::reject_busy(const FIX::Message& message, const FIX::SessionID& session) {
  const FIX::Header& header = message.getHeader();
  FIX::Message reject;
  reject.getHeader().setField(FIX::MsgType(FIX::MsgType_BusinessMessageReject));
  reject.setField(tag::RefSeqNum, header.getField(tag::MsgSeqNum));
  reject.setField(tag::RefMsgType, header.getField(tag::MsgType));
  if (message.isSetField(tag::ClOrdID)) {
    reject.setField(tag::BusinessRejectRefID, message.getField(tag::ClOrdID));
  }
  reject.setField(tag::BusinessRejectReason, "4");  // application not available
  reject.setField(tag::Text, "simulator busy: inbound queue full (max_inbound_queue)");
  spdlog::warn("inbound queue full; rejecting {}", printable_fix(message.toString()));
  try {
    FIX::Session::sendToTarget(reject, session);
  } catch (const std::exception& e) {
    spdlog::error("cannot send busy reject: {}", e.what());
  }
}

// ---- Logging (QuickFIX threads) ----

void SpdlogLog::onIncoming(const std::string& message) {
  t_last_incoming = message;
  spdlog::info("{} IN  {}", prefix_, printable_fix(message));
}

void SpdlogLog::onOutgoing(const std::string& message) {
  spdlog::info("{} OUT {}", prefix_, printable_fix(message));
}

void SpdlogLog::onEvent(const std::string& text) {
  spdlog::info("{} EVENT {}", prefix_, printable_fix(text));
}

FIX::Log* SpdlogLogFactory::create() { return new SpdlogLog("GLOBAL"); }

FIX::Log* SpdlogLogFactory::create(const FIX::SessionID& session) {
  return new SpdlogLog(session.toString());
}

void SpdlogLogFactory::destroy(FIX::Log* log) { delete log; }

}  // namespace brokergw::sim
