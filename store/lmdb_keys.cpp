// Key encodings and error mapping of the LMDB store (declared in store/lmdb_internal.h). Pure.
#include <cstdio>
#include <string>

#include "store/lmdb_internal.h"

namespace brokergw::store::lmdb {

StoreErrc classify(int rc) {
  switch (rc) {
    case MDB_NOTFOUND:
      return StoreErrc::kNotFound;
    case MDB_KEYEXIST:
      return StoreErrc::kAlreadyExists;
    case MDB_MAP_FULL:
      return StoreErrc::kMapFull;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
      return StoreErrc::kCorrupt;
    case MDB_BAD_VALSIZE:  // a key too long (or empty): the caller's input, not the disk
    case MDB_TXN_FULL:     // one write function dirtied too many pages
      return StoreErrc::kAborted;
    default:  // EIO, ENOSPC, EACCES, MDB_READERS_FULL, ...: the environment, worth a retry
      return StoreErrc::kIo;
  }
}

StoreError lmdb_error(int rc, std::string context) {
  return StoreError{classify(rc), std::move(context) + ": " + mdb_strerror(rc)};
}

std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::string be32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

std::optional<std::uint32_t> from_be32(std::string_view s) {
  if (s.size() != 4) return std::nullopt;
  std::uint32_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

std::optional<std::uint64_t> from_be64(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

namespace {
constexpr std::uint64_t kSignBit = 1ull << 63;
}  // namespace

std::string time_bytes(core::TimestampUs t) {
  return be64(static_cast<std::uint64_t>(t) ^ kSignBit);
}

std::optional<core::TimestampUs> time_from_bytes(std::string_view s) {
  std::optional<std::uint64_t> v = from_be64(s);
  if (!v) return std::nullopt;
  return static_cast<core::TimestampUs>(*v ^ kSignBit);
}

std::string time_key(core::TimestampUs t, std::string_view suffix) {
  std::string key = time_bytes(t);
  key.append(suffix);
  return key;
}

std::string printable_time_key(std::string_view key) {
  std::optional<core::TimestampUs> t = time_from_bytes(key.substr(0, 8));
  if (!t) return printable(key);
  return std::to_string(*t) + "+" + printable(key.substr(8));
}

std::string encode_session_state(const SessionState& st) {
  std::string out = be32(static_cast<std::uint32_t>(st.next_sender));
  out += be32(static_cast<std::uint32_t>(st.next_target));
  out += be64(static_cast<std::uint64_t>(st.creation_us));
  return out;
}

std::string session_state_error(const SessionState& st) {
  if (st.next_sender < 1) return "next_sender " + std::to_string(st.next_sender) + " < 1";
  if (st.next_target < 1) return "next_target " + std::to_string(st.next_target) + " < 1";
  return {};
}

std::string session_prefix(std::string_view session_id) {
  std::string key(session_id);
  key.push_back('\0');
  return key;
}

std::string session_message_key(std::string_view session_id, int seq) {
  return session_prefix(session_id) + be32(static_cast<std::uint32_t>(seq));
}

}  // namespace brokergw::store::lmdb
