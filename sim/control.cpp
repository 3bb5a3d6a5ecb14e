#include "sim/control.h"

#include <fstream>
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

}  // namespace

tl::expected<ControlCommand, std::string> parse_control_line(std::string_view line) {
  const std::string_view command = trim(line);
  if (command.empty() || command.front() == '#') return ControlCommand::kNone;
  if (command == "disconnect") return ControlCommand::kDisconnect;
  return tl::make_unexpected("unknown control command \"" + std::string(command) +
                             "\" (known: disconnect)");
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
    } else if (*command != ControlCommand::kNone) {
      handler_(*command);
    }
  }
}

}  // namespace brokergw::sim
