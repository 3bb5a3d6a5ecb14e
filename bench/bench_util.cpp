#include "bench/bench_util.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace brokergw::bench {

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleep_until_ns(std::int64_t deadline_ns) {
  // No spinning: on a small machine a spinning client would take CPU from the process it
  // measures. A 1 ns timer slack (per thread) keeps the wake-up within a few microseconds
  // instead of the default 50 us; any lateness still counts, since latencies are measured
  // from the scheduled time.
  thread_local const bool slack_set = ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) == 0;
  (void)slack_set;
  for (std::int64_t left = deadline_ns - mono_ns(); left > 0; left = deadline_ns - mono_ns()) {
    std::this_thread::sleep_for(std::chrono::nanoseconds(left));
  }
}

LatencySummary summarize_ns(std::vector<std::int64_t> samples_ns) {
  LatencySummary s;
  s.count = samples_ns.size();
  if (samples_ns.empty()) return s;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto rank = [&](double q) {
    auto i = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_ns.size())));
    return static_cast<double>(samples_ns[std::clamp<std::size_t>(i, 1, samples_ns.size()) - 1]) /
           1000.0;
  };
  s.p50_us = rank(0.50);
  s.p99_us = rank(0.99);
  s.max_us = static_cast<double>(samples_ns.back()) / 1000.0;
  const long double sum = std::accumulate(samples_ns.begin(), samples_ns.end(), 0.0L);
  s.mean_us = static_cast<double>(sum / samples_ns.size()) / 1000.0;
  return s;
}

nlohmann::json to_json(const LatencySummary& s) {
  return {{"count", s.count},
          {"p50_us", round_to(s.p50_us, 1)},
          {"p99_us", round_to(s.p99_us, 1)},
          {"max_us", round_to(s.max_us, 1)},
          {"mean_us", round_to(s.mean_us, 1)}};
}

namespace {

std::string human_us(double us) {
  char buf[32];
  if (us >= 1000.0) {
    std::snprintf(buf, sizeof buf, "%.2f ms", us / 1000.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f us", us);
  }
  return buf;
}

}  // namespace

std::string describe(const LatencySummary& s) {
  return "p50 " + human_us(s.p50_us) + ", p99 " + human_us(s.p99_us) + ", max " +
         human_us(s.max_us) + " (n=" + std::to_string(s.count) + ")";
}

ScratchDir::ScratchDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  const char* keep = std::getenv("BROKERGW_KEEP_TMP");
  if (keep != nullptr && std::string(keep) == "1") return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

double process_cpu_ms(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return 0;
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  // rest starts at field 3 (state); utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(utime + stime) * 1000.0 / ticks_per_s;
}

double system_busy_ms() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  unsigned long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0,
                     steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  if (cpu != "cpu") return 0;
  const double ticks_per_s = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return static_cast<double>(user + nice + system + irq + softirq + steal) * 1000.0 / ticks_per_s;
}

std::string process_command_line(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
  return cmdline;
}

std::vector<pid_t> find_processes(const std::string& needle) {
  std::vector<pid_t> out;
  const pid_t self = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    const pid_t pid = std::stoi(name);
    if (pid == self) continue;
    if (process_command_line(pid).find(needle) != std::string::npos) out.push_back(pid);
  }
  return out;
}

void write_json_file(const std::string& path, const nlohmann::json& doc) {
  std::ofstream out(path, std::ios::trunc);
  out << doc.dump(2) << "\n";
  if (!out) throw std::runtime_error("cannot write " + path);
}

double round_to(double v, int decimals) {
  const double f = std::pow(10.0, decimals);
  return std::round(v * f) / f;
}

}  // namespace brokergw::bench
