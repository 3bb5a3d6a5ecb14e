#include "sim/journal.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

namespace brokergw::sim {
namespace {

constexpr std::array<std::string_view, 3> kSecretTags{"554", "925", "96"};

bool is_separator(char c) { return c == '\x01' || c == '|'; }

}  // namespace

std::string mask_secrets(std::string_view fix) {
  std::string out;
  out.reserve(fix.size());
  std::size_t pos = 0;
  while (pos < fix.size()) {
    std::size_t end = pos;
    while (end < fix.size() && !is_separator(fix[end])) ++end;
    const std::string_view field = fix.substr(pos, end - pos);
    const std::size_t eq = field.find('=');
    bool secret = false;
    if (eq != std::string_view::npos) {
      for (std::string_view tag : kSecretTags) secret = secret || field.substr(0, eq) == tag;
    }
    if (secret) {
      out.append(field.substr(0, eq + 1));
      out.append("***");
    } else {
      out.append(field);
    }
    if (end < fix.size()) out.push_back(fix[end]);
    pos = end + 1;
  }
  return out;
}

std::string printable_fix(std::string_view fix) {
  std::string out = mask_secrets(fix);
  for (char& c : out) {
    if (c == '\x01') c = '|';
  }
  return out;
}

std::string journal_line(const JournalEntry& entry) {
  nlohmann::ordered_json j;
  j["ts_us"] = entry.ts_us;
  j["msg_type"] = entry.msg_type;
  j["cl_ord_id"] = entry.cl_ord_id ? nlohmann::ordered_json(*entry.cl_ord_id) : nullptr;
  j["msg_seq_num"] = entry.msg_seq_num;
  j["poss_resend"] = entry.poss_resend;
  j["poss_dup"] = entry.poss_dup;
  j["raw"] = printable_fix(entry.raw);
  // Replace invalid UTF-8 instead of throwing: the journal must never lose a line.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

tl::expected<std::unique_ptr<Journal>, std::string> Journal::open(
    const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "a");
  if (!file) {
    return tl::make_unexpected("journal " + path.string() +
                               ": cannot open: " + std::strerror(errno));
  }
  return std::unique_ptr<Journal>(new Journal(file, path));
}

Journal::Journal(std::FILE* file, std::filesystem::path path)
    : file_(file), path_(std::move(path)) {}

Journal::~Journal() { close(); }

tl::expected<void, std::string> Journal::append(const JournalEntry& entry) {
  std::string line = journal_line(entry);
  line.push_back('\n');
  std::lock_guard lock(mutex_);
  if (!file_) return tl::make_unexpected("journal " + path_.string() + " is closed");
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    return tl::make_unexpected("journal " + path_.string() +
                               ": write failed: " + std::strerror(errno));
  }
  return {};
}

void Journal::close() {
  std::lock_guard lock(mutex_);
  if (file_) {
    std::fflush(file_);
    std::fclose(file_);
    file_ = nullptr;
  }
}

}  // namespace brokergw::sim
