#include "sim/control.h"

#include <charconv>
#include <fstream>
#include <optional>
#include <system_error>
#include <utility>

namespace brokergw::sim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t') ++end;
    if (end > pos) words.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return words;
}

// FIX 4.4 ExecRestatementReason(378): 0..10 and 99, in decimal without sign or leading zero.
std::optional<int> restatement_reason(std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (text.size() > 1 && text.front() == '0') return std::nullopt;
  if ((value < 0 || value > 10) && value != 99) return std::nullopt;
  return value;
}

}  // namespace

tl::expected<ControlLine, std::string> parse_control_line(std::string_view line) {
  const std::string_view text = trim(line);
  if (text.empty() || text.front() == '#') return ControlLine{};
  const std::vector<std::string_view> words = split_words(text);
  const std::string_view verb = words[0];
  const std::size_t args = words.size() - 1;
  const auto usage = [&](std::string_view expected) {
    return tl::make_unexpected("control command \"" + std::string(text) +
                               "\": usage: " + std::string(expected));
  };
  const auto bad = [&](const std::string& why) {
    return tl::make_unexpected("control command \"" + std::string(text) + "\": " + why);
  };

  ControlLine out;
  if (verb == "disconnect") {
    if (args != 0) return usage("disconnect");
    out.command = ControlCommand::kDisconnect;
    return out;
  }
  if (verb == "reset_seq") {
    if (args != 0) return usage("reset_seq");
    out.command = ControlCommand::kResetSeq;
    return out;
  }
  out.command = ControlCommand::kBook;
  BookCommandIn& book = out.book;
  if (verb == "bust") {
    if (args < 1 || args > 2) return usage("bust <ClOrdID> [<ExecID of the fill>]");
    book.kind = BookCommandKind::kBust;
    if (args == 2) book.exec_ref_id = std::string(words[2]);
  } else if (verb == "correct") {
    if (args < 3 || args > 4) return usage("correct <ClOrdID> <qty> <px> [<ExecID of the fill>]");
    book.kind = BookCommandKind::kCorrect;
    const auto qty = Fixed::parse(words[2]);
    const auto px = Fixed::parse(words[3]);
    if (!qty || !qty->is_positive()) {
      return bad("qty \"" + std::string(words[2]) +
                 "\" must be a positive decimal with at most 8 fraction digits (a quantity of "
                 "0 is a bust)");
    }
    if (!px || !px->is_positive()) {
      return bad("px \"" + std::string(words[3]) +
                 "\" must be a positive decimal with at most 8 fraction digits");
    }
    book.last_qty = *qty;
    book.last_px = *px;
    if (args == 4) book.exec_ref_id = std::string(words[4]);
  } else if (verb == "restate") {
    if (args < 1 || args > 2) return usage("restate <ClOrdID> [<ExecRestatementReason>]");
    book.kind = BookCommandKind::kRestate;
    if (args == 2) {
      const auto reason = restatement_reason(words[2]);
      if (!reason) {
        return bad("ExecRestatementReason \"" + std::string(words[2]) +
                   "\" is not a FIX 4.4 value (0..10 or 99)");
      }
      book.restatement_reason = *reason;
    }
  } else if (verb == "stray") {
    if (args < 1 || args > 2) return usage("stray <ClOrdID> [fill|ack]");
    book.kind = BookCommandKind::kStray;
    if (args == 2) {
      if (words[2] == "fill") {
        book.stray = StrayReport::kFill;
      } else if (words[2] == "ack") {
        book.stray = StrayReport::kAck;
      } else {
        return usage("stray <ClOrdID> [fill|ack]");
      }
    }
  } else {
    return tl::make_unexpected("unknown control command \"" + std::string(text) +
                               "\" (known: disconnect, reset_seq, bust, correct, restate, stray)");
  }
  book.cl_ord_id = std::string(words[1]);
  return out;
}

std::vector<std::string> ControlLineBuffer::feed(std::string_view bytes) {
  std::vector<std::string> lines;
  for (char ch : bytes) {
    if (ch == '\n') {
      if (!overlong_) lines.push_back(std::move(partial_));
      partial_.clear();
      overlong_ = false;
    } else if (!overlong_) {
      partial_.push_back(ch);
      if (partial_.size() > kMaxLine) {
        partial_.clear();
        overlong_ = true;
      }
    }
  }
  return lines;
}

ControlFileWatcher::ControlFileWatcher(std::filesystem::path file, Handler handler, LogHandler log,
                                       std::chrono::milliseconds period)
    : file_(std::move(file)), handler_(std::move(handler)), log_(std::move(log)), period_(period) {}

ControlFileWatcher::~ControlFileWatcher() { stop(); }

void ControlFileWatcher::start() {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file_, ec);
  offset_ = ec ? 0 : size;
  thread_ = std::thread([this] { run(); });
}

void ControlFileWatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void ControlFileWatcher::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
    lock.unlock();
    poll_once();
    lock.lock();
  }
}

void ControlFileWatcher::poll_once() {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(file_, ec);
  if (ec) return;  // not there (yet): nothing to do
  if (size < offset_) {
    log_("control file " + file_.string() + " shrank; reading it again from the start");
    offset_ = 0;
    buffer_ = ControlLineBuffer{};
  }
  if (size == offset_) return;
  std::ifstream in(file_, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset_));
  std::string bytes(static_cast<std::size_t>(size - offset_), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  offset_ += bytes.size();
  for (const std::string& line : buffer_.feed(bytes)) {
    const auto command = parse_control_line(line);
    if (!command) {
      log_(command.error());
    } else if (command->command != ControlCommand::kNone) {
      handler_(*command);
    }
  }
}

}  // namespace brokergw::sim
