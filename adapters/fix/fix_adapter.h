// Factory for the FIX transport: one QuickFIX initiator (one session, one socket thread) per
// configured broker, so a slow or dead broker never shares a thread with another. This header
// deliberately includes no QuickFIX header: gateway/ links against it without seeing QuickFIX.
#pragma once

#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "adapters/adapter.h"
#include "gateway/config/config.h"
#include "store/store.h"

namespace brokergw::adapters::fix {

// Checks the broker's dialect (data dictionary) and credentials at start-up; an error names
// the broker and the reason. The FIX session (sequence numbers, sent messages) lives in
// `store`, which must outlive the adapter. Sequence numbers of an earlier version's FileStore
// under <state_dir>/fix/<broker>/ are imported once, when the store has none for the session.
tl::expected<std::unique_ptr<BrokerAdapter>, std::string> make_fix_adapter(
    const config::BrokerConfig& broker, const std::string& state_dir, store::Store& store);

}  // namespace brokergw::adapters::fix
