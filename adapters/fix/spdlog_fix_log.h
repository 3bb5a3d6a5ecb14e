// QuickFIX logging routed into spdlog, with secrets masked (tag 554 and friends). Messages are
// logged at debug level (they are also the broker's audit trail), session events at info.
// Called from QuickFIX's session threads; spdlog loggers are thread-safe.
#pragma once

#include <quickfix/Log.h>

namespace brokergw::adapters::fix {

class SpdlogLogFactory : public FIX::LogFactory {
 public:
  FIX::Log* create() override;
  FIX::Log* create(const FIX::SessionID& session) override;
  void destroy(FIX::Log* log) override;
};

}  // namespace brokergw::adapters::fix
