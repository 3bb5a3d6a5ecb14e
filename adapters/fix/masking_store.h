// A QuickFIX MessageStore that wraps another store and never lets a secret reach the disk:
// stored messages that carry Password(554), NewPassword(925) or RawData(96) are stored with
// those fields removed (re-serialized, so lengths and checksums stay valid). Only admin
// messages carry them and admin messages are never resent, so nothing is lost.
// Called under the owning QuickFIX session's lock.
#pragma once

#include <memory>

#include <quickfix/MessageStore.h>

namespace brokergw::adapters::fix {

class MaskingStoreFactory : public FIX::MessageStoreFactory {
 public:
  explicit MaskingStoreFactory(FIX::MessageStoreFactory& inner) : inner_(inner) {}
  FIX::MessageStore* create(const FIX::SessionID& session) override;
  void destroy(FIX::MessageStore* store) override;

 private:
  FIX::MessageStoreFactory& inner_;
};

// Exposed for tests: the stored form of a raw message.
std::string strip_secrets_for_storage(const std::string& raw);

}  // namespace brokergw::adapters::fix
