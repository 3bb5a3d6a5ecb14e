// Helpers shared by the benchmarks in bench/ (docs/BENCHMARKS.md): clocks, pacing, latency
// summaries, a scratch directory, per-process CPU time and the result file.
//
// Threads: the clocks and sleep_until_ns may be called from any thread; everything else from
// a benchmark's main thread. Nothing here asserts a speed: benchmarks measure and report.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace brokergw::bench {

// System clock in microseconds since the Unix epoch: the clock of brokersim's journal
// ("ts_us"), so a client's send time and the simulator's receipt time compare directly.
std::int64_t wall_us();
// Monotonic clock in nanoseconds, for in-process intervals.
std::int64_t mono_ns();
// Sleeps until mono_ns() >= deadline_ns, without spinning.
void sleep_until_ns(std::int64_t deadline_ns);

// A latency distribution, in microseconds. Percentiles are nearest-rank.
struct LatencySummary {
  std::size_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
  double mean_us = 0;
};
LatencySummary summarize_ns(std::vector<std::int64_t> samples_ns);
nlohmann::json to_json(const LatencySummary& s);
// "p50 1.23 ms, p99 4.56 ms, max 7.89 ms (n=1000)"
std::string describe(const LatencySummary& s);

// A fresh directory under the system temp directory (same filesystem as the gateway's test
// state), removed when destroyed unless BROKERGW_KEEP_TMP=1.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// CPU time (user + system) a process has used so far, in milliseconds; 0 if it is gone.
double process_cpu_ms(pid_t pid);
// CPU time all CPUs spent busy so far (user, nice, system, irq, softirq, steal), in ms. The
// difference to the benchmarked processes' own CPU time shows how much else ran meanwhile
// (other users of a shared machine, kernel threads).
double system_busy_ms();

// Processes whose command line contains `needle` (e.g. a config path), excluding this one.
std::vector<pid_t> find_processes(const std::string& needle);
// The command line of a process, arguments separated by spaces; "" if it is gone.
std::string process_command_line(pid_t pid);

// Writes `doc` (pretty-printed) to `path`; throws on failure.
void write_json_file(const std::string& path, const nlohmann::json& doc);

// Rounds for display and for the result file (no float noise like 1234.5678901).
double round_to(double v, int decimals);

}  // namespace brokergw::bench
