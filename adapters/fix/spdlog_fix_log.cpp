#include "adapters/fix/spdlog_fix_log.h"

#include <spdlog/spdlog.h>

#include "adapters/fix/fix_mapping.h"

namespace brokergw::adapters::fix {
namespace {

class SpdlogLog : public FIX::Log {
 public:
  explicit SpdlogLog(std::string session) : session_(std::move(session)) {}
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
  }

 private:
  std::string session_;
};

}  // namespace

FIX::Log* SpdlogLogFactory::create() { return new SpdlogLog("global"); }
FIX::Log* SpdlogLogFactory::create(const FIX::SessionID& session) {
  return new SpdlogLog(session.toString());
}
void SpdlogLogFactory::destroy(FIX::Log* log) { delete log; }

}  // namespace brokergw::adapters::fix
