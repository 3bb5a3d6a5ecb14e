// The simulator's control channel for tests: a file (config key control_file) to which a test
// appends one-line commands; brokersim polls it and runs each new complete line once.
// Commands (docs/SIMULATOR.md, "Control file"): `disconnect` (drop the FIX connection now,
// without a Logout); `reset_seq` (sequence numbers back to 1); the book commands `bust`, `correct`,
// `restate` and `stray`, which the engine thread carries out (sim/book_corrections.cpp). Blank
// lines and lines starting with '#' are ignored; an unknown or malformed command is logged and
// ignored.
//
// Threads: parse_control_line and ControlLineBuffer are pure. ControlFileWatcher runs its own
// polling thread (start/stop from main) and calls the handler on that thread.
//
// Invariants: a command is run at most once; only bytes appended after start() count (a
// file that shrinks is read again from its beginning); a line is run only once its '\n' has
// arrived, so a test's half-written line is never taken for a command.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <tl/expected.hpp>

#include "sim/engine.h"

namespace brokergw::sim {

enum class ControlCommand {
  kNone,        // blank line or comment
  kDisconnect,  // drop the FIX connection now
  kResetSeq,    // disconnect, then reset both sequence numbers to 1
  kBook,        // a book command for the engine thread: ControlLine::book
};

struct ControlLine {
  ControlCommand command = ControlCommand::kNone;
  BookCommandIn book;  // kBook only
};

// One line without its '\n' (a trailing '\r' and blanks around and between words are
// ignored). Errors name the line and say what the command expects.
tl::expected<ControlLine, std::string> parse_control_line(std::string_view line);

// Splits appended bytes into complete lines; keeps an unterminated tail for the next feed.
class ControlLineBuffer {
 public:
  static constexpr std::size_t kMaxLine = 4096;  // a longer line is dropped
  std::vector<std::string> feed(std::string_view bytes);

 private:
  std::string partial_;
  bool overlong_ = false;  // discarding until the next '\n'
};

class ControlFileWatcher {
 public:
  using Handler = std::function<void(const ControlLine&)>;
  using LogHandler = std::function<void(const std::string&)>;

  ControlFileWatcher(std::filesystem::path file, Handler handler, LogHandler log,
                     std::chrono::milliseconds period = std::chrono::milliseconds(50));
  ~ControlFileWatcher();
  ControlFileWatcher(const ControlFileWatcher&) = delete;
  ControlFileWatcher& operator=(const ControlFileWatcher&) = delete;

  // Remembers the file's current size (commands already in it are not run) and starts polling.
  void start();
  // Stops and joins the polling thread. Idempotent.
  void stop();

 private:
  void run();
  void poll_once();

  const std::filesystem::path file_;
  const Handler handler_;
  const LogHandler log_;
  const std::chrono::milliseconds period_;
  std::uintmax_t offset_ = 0;  // bytes of the file already consumed (polling thread only)
  ControlLineBuffer buffer_;   // polling thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace brokergw::sim
