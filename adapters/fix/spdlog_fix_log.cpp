// SpdlogLogFactory (spdlog_fix_log.h): one SpdlogLog per session, on QuickFIX's threads.
#include "adapters/fix/spdlog_fix_log.h"

#include <spdlog/spdlog.h>

#include "adapters/fix/fix_mapping.h"

namespace brokergw::adapters::fix {
namespace {

class SpdlogLog : public FIX::Log {
 public:
  SpdlogLog(std::string session, const SpdlogLogFactory::EventObserver* observer)
      : session_(std::move(session)), observer_(observer) {}
  void clear() override {}
  void backup() override {}
  void onIncoming(const std::string& msg) override {
    spdlog::debug("fix {} in  {}", session_, mask_secrets(msg));
  }
  void onOutgoing(const std::string& msg) override {
    spdlog::debug("fix {} out {}", session_, mask_secrets(msg));
  }
  void onEvent(const std::string& text) override {
    spdlog::info("fix {} event: {}", session_, mask_secrets(text));
    if (observer_ && *observer_) (*observer_)(text);
  }

 private:
  std::string session_;
  const SpdlogLogFactory::EventObserver* observer_;  // the factory's; it outlives its logs
};

}  // namespace

FIX::Log* SpdlogLogFactory::create() { return new SpdlogLog("global", nullptr); }
FIX::Log* SpdlogLogFactory::create(const FIX::SessionID& session) {
  return new SpdlogLog(session.toString(), &observer_);
}
void SpdlogLogFactory::destroy(FIX::Log* log) { delete log; }

}  // namespace brokergw::adapters::fix
