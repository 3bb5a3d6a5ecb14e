#include "adapters/fix/masking_store.h"

#include <quickfix/Message.h>

namespace brokergw::adapters::fix {
namespace {

constexpr int kSecretTags[] = {554, 925, 96};

class MaskingStore : public FIX::MessageStore {
 public:
  MaskingStore(FIX::MessageStoreFactory& factory, FIX::MessageStore* inner)
      : factory_(factory), inner_(inner) {}
  ~MaskingStore() override { factory_.destroy(inner_); }

  bool set(int seq, const std::string& msg) throw(FIX::IOException) override {
    return inner_->set(seq, strip_secrets_for_storage(msg));
  }
  void get(int begin, int end, std::vector<std::string>& out) const
      throw(FIX::IOException) override {
    inner_->get(begin, end, out);
  }
  int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
    return inner_->getNextSenderMsgSeqNum();
  }
  int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
    return inner_->getNextTargetMsgSeqNum();
  }
  void setNextSenderMsgSeqNum(int v) throw(FIX::IOException) override {
    inner_->setNextSenderMsgSeqNum(v);
  }
  void setNextTargetMsgSeqNum(int v) throw(FIX::IOException) override {
    inner_->setNextTargetMsgSeqNum(v);
  }
  void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
    inner_->incrNextSenderMsgSeqNum();
  }
  void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
    inner_->incrNextTargetMsgSeqNum();
  }
  FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
    return inner_->getCreationTime();
  }
  void reset() throw(FIX::IOException) override { inner_->reset(); }
  void refresh() throw(FIX::IOException) override { inner_->refresh(); }

 private:
  FIX::MessageStoreFactory& factory_;
  FIX::MessageStore* inner_;
};

}  // namespace

std::string strip_secrets_for_storage(const std::string& raw) {
  bool has_secret = false;
  for (int tag : kSecretTags) {
    if (raw.find("\x01" + std::to_string(tag) + "=") != std::string::npos) has_secret = true;
  }
  if (!has_secret) return raw;
  try {
    FIX::Message msg(raw, false);
    for (int tag : kSecretTags) msg.removeField(tag);
    return msg.toString();
  } catch (const std::exception&) {
    // Unparseable: store nothing of it rather than a secret.
    return std::string();
  }
}

FIX::MessageStore* MaskingStoreFactory::create(const FIX::SessionID& session) {
  return new MaskingStore(inner_, inner_.create(session));
}

void MaskingStoreFactory::destroy(FIX::MessageStore* store) { delete store; }

}  // namespace brokergw::adapters::fix
