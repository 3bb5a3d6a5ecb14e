// The store's key rules, shared by the LMDB store and its in-memory twin (tests/support) so
// both refuse and describe the same keys the same way. Pure; any thread.
//
// Invariant: a composite key broker '\0' id splits unambiguously (a broker name is non-empty
// and holds no '\0'); every error text shows keys printably and at most 128 bytes of them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "store/store.h"

namespace brokergw::store::keys {

// Keys may carry arbitrary bytes ('\0' in broker keys); keeps error texts printable and short.
std::string printable(std::string_view s);
// Empty when `broker` can start a composite key (non-empty, no '\0').
std::string broker_name_error(std::string_view broker);
// broker '\0' id; kAborted for a broker name that cannot start one.
Result<std::string> broker_key(std::string_view broker, std::string_view id);
// broker '\0' client_order_id '\0' exec_id: an execution report's key (ExecRecord).
Result<std::string> exec_key(std::string_view broker, std::string_view client_order_id,
                             std::string_view exec_id);
// Does the order pass the list filter?
bool matches(const OrderFilter& filter, const core::Order& order);
// Empty when a client_order_id fits a retry key (8 bytes of due time, then the id) of at most
// max_key bytes.
std::string retry_id_error(std::string_view id, std::size_t max_key);
// Empty when a FIX session id is usable: non-empty, no '\0', and room for '\0' + a 4-byte seq.
std::string session_id_error(std::string_view id, std::size_t max_key);

}  // namespace brokergw::store::keys
