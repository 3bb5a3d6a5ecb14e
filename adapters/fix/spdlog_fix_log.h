// QuickFIX logging routed into spdlog, with secrets masked (tag 554 and friends). Messages are
// logged at debug level (they are also the broker's audit trail), session events at info.
// Session events are also handed to an optional observer (the adapter reads sequence refusals
// from them, sequence_refusal.h) with the unmasked text, after logging.
// Called from QuickFIX's session threads; spdlog loggers are thread-safe, and the observer must
// be too (it runs under QuickFIX's SessionState mutex: it must not block on the disk).
#pragma once

#include <functional>
#include <string>

#include <quickfix/Log.h>

namespace brokergw::adapters::fix {

class SpdlogLogFactory : public FIX::LogFactory {
 public:
  using EventObserver = std::function<void(const std::string& text)>;
  SpdlogLogFactory() = default;
  explicit SpdlogLogFactory(EventObserver observer) : observer_(std::move(observer)) {}
  FIX::Log* create() override;
  FIX::Log* create(const FIX::SessionID& session) override;
  void destroy(FIX::Log* log) override;

 private:
  EventObserver observer_;  // for session logs only; immutable after construction
};

}  // namespace brokergw::adapters::fix
