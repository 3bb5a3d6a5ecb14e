// The simulator's journal of received application messages, one JSON object per line, and the
// helpers that make raw FIX safe and readable for logs (secrets masked, SOH shown as '|').
// Tests read the journal to count NewOrderSingles per ClOrdID, so a line is written and
// flushed before the message is acted on.
//
// Thread: Journal::append is called from the QuickFIX callback thread; it takes its own mutex,
// so other threads may append too. The free functions are pure.
//
// Line format (docs/SIMULATOR.md): {"ts_us":..., "msg_type":"D", "cl_ord_id":"..." or null,
// "msg_seq_num":n, "poss_resend":bool, "poss_dup":bool, "raw":"8=FIX.4.4|...|554=***|..."}
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace brokergw::sim {

// Replaces the values of Password(554), NewPassword(925) and RawData(96, which some brokers use
// for credentials) with "***". Works on SOH- or '|'-separated FIX.
std::string mask_secrets(std::string_view fix);
// mask_secrets, then SOH -> '|'.
std::string printable_fix(std::string_view fix);

struct JournalEntry {
  std::int64_t ts_us = 0;  // wall clock, microseconds since the Unix epoch
  std::string msg_type;
  std::optional<std::string> cl_ord_id;
  std::int64_t msg_seq_num = 0;
  bool poss_resend = false;
  bool poss_dup = false;
  std::string raw;  // as received, SOH separated; masked and made printable when written
};

// One JSON line, without the trailing newline.
std::string journal_line(const JournalEntry& entry);

class Journal {
 public:
  // Opens (creating or appending to) the journal file.
  static tl::expected<std::unique_ptr<Journal>, std::string> open(
      const std::filesystem::path& path);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // Appends one line and flushes it to the kernel. Returns an error text on a failed write.
  tl::expected<void, std::string> append(const JournalEntry& entry);
  void close();

 private:
  explicit Journal(std::FILE* file, std::filesystem::path path);
  std::mutex mutex_;
  std::FILE* file_;
  std::filesystem::path path_;
};

}  // namespace brokergw::sim
