// Record codec for the store: core::Order (+ version), CancelRecord, StoredEvent, RetryEntry
// and ExecRecord
// to bytes and back. Pure functions, no I/O, callable from any thread.
//
// Format: the CBOR encoding (RFC 8949, via nlohmann::json::to_cbor) of a JSON-shaped document
// (docs/STORE.md lists the fields). Decimals and the notional are decimal strings, enums are
// their core wire names ("pending_new"; a retry's core::Step under "action", named by
// core::to_string(Step)). CBOR rather than JSON text because order strings can
// carry bytes a broker sent (FIX Text, OrderID) that need not be UTF-8, and JSON text cannot
// hold them losslessly.
//
// Invariants: decode(encode(x)) == x for every value; decoding never throws and never
// crashes on any input (nesting depth is bounded before the document is built): a bad
// record gives kCorrupt with a detail naming the field.
#pragma once

#include <string>
#include <string_view>

#include "store/store.h"

namespace brokergw::store::codec {

std::string encode_order(const VersionedOrder& record);
Result<VersionedOrder> decode_order(std::string_view bytes);

std::string encode_cancel(const CancelRecord& record);
Result<CancelRecord> decode_cancel(std::string_view bytes);

std::string encode_event(const StoredEvent& event);
Result<StoredEvent> decode_event(std::string_view bytes);

std::string encode_retry(const RetryEntry& entry);
Result<RetryEntry> decode_retry(std::string_view bytes);

std::string encode_exec(const ExecRecord& record);
Result<ExecRecord> decode_exec(std::string_view bytes);

}  // namespace brokergw::store::codec
