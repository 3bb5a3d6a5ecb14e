#!/usr/bin/env bash
# The benchmark command (README, docs/BENCHMARKS.md): installs what is missing, builds Release
# in build-bench, then in one run measures
#   1. the floors: one synced LMDB commit per write (and our group-commit store), and raw
#      QuickFIX initiator -> acceptor with MemoryStore;
#   2. durable intake end to end: HTTP API -> store -> FIX -> brokersim, at a fixed offered
#      rate and at the maximum;
# prints a summary with both ratios and writes bench/results/latest.json.
# Nothing here asserts a speed; the exit code is non-zero only if a benchmark failed or an
# acknowledged order did not reach the simulator exactly once.
# BROKERGW_BENCH_BUILD overrides the build directory, BROKERGW_JOBS the build parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/deps.sh

BUILD=${BROKERGW_BENCH_BUILD:-build-bench}
echo "== build (Release, $BUILD)"
cmake -G Ninja -S . -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Release \
  >/dev/null
ninja -C "$BUILD" ${BROKERGW_JOBS:+-j "$BROKERGW_JOBS"} \
  brokergw brokersim bench_floor_lmdb bench_floor_quickfix bench_intake bench_events

RUN=$(mktemp -d /tmp/brokergw-bench.XXXXXX)
trap 'rm -rf "$RUN"' EXIT
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "== floor: one synced LMDB commit per write; our group-commit store"
"$BUILD/bench/bench_floor_lmdb" --json "$RUN/lmdb.json"
echo "== floor: raw QuickFIX initiator -> acceptor (MemoryStore, no log)"
"$BUILD/bench/bench_floor_quickfix" --json "$RUN/quickfix.json"
echo "== durable intake: HTTP API -> store -> FIX -> brokersim"
# Exit code 3: an exactly-once violation; the results are still written and summarised.
intake_rc=0
"$BUILD/bench/bench_intake" --json "$RUN/intake.json" || intake_rc=$?
[ -s "$RUN/intake.json" ] || exit "$intake_rc"
echo "== events: store -> publisher -> Kafka (mock cluster); the FIX path with and without Kafka"
"$BUILD/bench/bench_events" --json "$RUN/events.json"

# The machine, as docs/BENCHMARKS.md reports it.
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
mem_total=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
fs=$(findmnt -no SOURCE,FSTYPE,OPTIONS -T /tmp 2>/dev/null || echo unknown)
disk=$(lsblk -dno NAME,ROTA,SIZE "$(findmnt -no SOURCE -T /tmp 2>/dev/null)" 2>/dev/null || true)
virt=$(systemd-detect-virt 2>/dev/null || true)
dirty=no
if [ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty=yes; fi
jq -n \
  --arg started "$STARTED" \
  --arg command "scripts/bench.sh" \
  --arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  --arg dirty "$dirty" \
  --arg nproc "$(nproc)" --arg cpu "$cpu_model" --arg mem "$mem_total" --arg fs "$fs" \
  --arg disk "$disk" --arg kernel "$(uname -sr)" --arg virt "${virt:-unknown}" \
  --arg compiler "$(clang++-14 --version | head -1)" \
  --arg load_before "$LOAD_BEFORE" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" \
  --slurpfile lmdb "$RUN/lmdb.json" --slurpfile quickfix "$RUN/quickfix.json" \
  --slurpfile intake "$RUN/intake.json" --slurpfile events "$RUN/events.json" '
  ($intake[0].max.reached_sim_per_s) as $x
  | ($quickfix[0].max.received_per_s) as $y
  | ($lmdb[0].raw_synced_commit.commits_per_s) as $z
  | {
      started: $started, command: $command, commit: $commit, uncommitted_changes: $dirty,
      machine: {nproc: ($nproc | tonumber), cpu: $cpu, memory: $mem, filesystem: $fs,
                disk: $disk, kernel: $kernel, virtualization: $virt, compiler: $compiler,
                loadavg_before: $load_before, loadavg_after: $load_after},
      summary: {
        durable_intake_max_per_s: $x,
        durable_intake_max_clients: $intake[0].max.clients,
        raw_quickfix_floor_per_s: $y,
        one_synced_commit_per_s: $z,
        ratio_to_quickfix: (($x / $y) * 1000 | round / 1000),
        ratio_to_synced_commit: (($x / $z) * 100 | round / 100),
        target_ratio_to_quickfix: 0.5,
        target_met_quickfix: ($x >= 0.5 * $y),
        exactly_once: $intake[0].exactly_once
      },
      floor_lmdb: $lmdb[0], floor_quickfix: $quickfix[0], intake: $intake[0], events: $events[0]
    }' >"$RUN/result.json"
mkdir -p bench/results
cp "$RUN/result.json" bench/results/latest.json

echo
echo "== summary (bench/results/latest.json)"
jq -r '
  def n: floor | tostring;
  def ms: (. / 1000 * 100 | round / 100 | tostring) + " ms";
  .intake as $i | .summary as $s |
  "machine: \(.machine.nproc) x \(.machine.cpu), \(.machine.memory), \(.machine.kernel); load before \(.machine.loadavg_before)",
  "",
  "| measurement | throughput | p50 | p99 |",
  "| --- | ---: | ---: | ---: |",
  "| durable intake, fixed \($i.fixed.offered_per_s | n)/s offered (API->sim) | \($i.fixed.reached_sim_per_s | n)/s | \($i.fixed.api_to_sim_latency.p50_us | ms) | \($i.fixed.api_to_sim_latency.p99_us | ms) |",
  "| durable intake, fixed \($i.fixed.offered_per_s | n)/s offered (API->201) | \($i.fixed.acked_per_s | n)/s | \($i.fixed.api_response_latency.p50_us | ms) | \($i.fixed.api_response_latency.p99_us | ms) |",
  ($i.max_levels[] | "| durable intake, max, \(.clients) clients (API->sim) | \(.reached_sim_per_s | n)/s | \(.api_to_sim_latency.p50_us | ms) | \(.api_to_sim_latency.p99_us | ms) |"),
  (if $i.http_floor then "| HTTP floor: cpp-httplib echo server, \($i.http_floor.clients) clients | \($i.http_floor.requests_per_s | n)/s | \($i.http_floor.latency.p50_us | ms) | \($i.http_floor.latency.p99_us | ms) |" else empty end),
  "| raw QuickFIX, fixed \(.floor_quickfix.fixed.offered_per_s | n)/s | \(.floor_quickfix.fixed.received_per_s | n)/s | \(.floor_quickfix.fixed.latency.p50_us | ms) | \(.floor_quickfix.fixed.latency.p99_us | ms) |",
  "| raw QuickFIX, max | \(.floor_quickfix.max.received_per_s | n)/s | \(.floor_quickfix.max.latency.p50_us | ms) | \(.floor_quickfix.max.latency.p99_us | ms) |",
  "| one synced LMDB commit | \(.floor_lmdb.raw_synced_commit.commits_per_s | n)/s | \(.floor_lmdb.raw_synced_commit.commit_latency.p50_us | ms) | \(.floor_lmdb.raw_synced_commit.commit_latency.p99_us | ms) |",
  "| our store, 1 writer | \(.floor_lmdb.store_1_writer.writes_per_s | n)/s | \(.floor_lmdb.store_1_writer.write_latency.p50_us | ms) | \(.floor_lmdb.store_1_writer.write_latency.p99_us | ms) |",
  "| our store, \(.floor_lmdb.store_n_writers.writers) writers (group commit) | \(.floor_lmdb.store_n_writers.writes_per_s | n)/s | \(.floor_lmdb.store_n_writers.write_latency.p50_us | ms) | \(.floor_lmdb.store_n_writers.write_latency.p99_us | ms) |",
  "",
  "durable intake max: \($s.durable_intake_max_per_s | n) orders/s (\($s.durable_intake_max_clients) clients); raw QuickFIX floor: \($s.raw_quickfix_floor_per_s | n) msg/s; ratio X/Y = \($s.ratio_to_quickfix) (target >= 0.5: \(if $s.target_met_quickfix then "met" else "NOT met" end))",
  "one synced commit: \($s.one_synced_commit_per_s | n)/s; ratio X/Z = \($s.ratio_to_synced_commit) (target: far above 1)",
  "every acknowledged order reached the simulator exactly once: \(if $s.exactly_once then "yes" else "NO" end)",
  "CPU per order at the maximum: gateway \($i.max.cpu_us_per_order.gateway) us, simulator \($i.max.cpu_us_per_order.sim) us, HTTP clients \($i.max.cpu_us_per_order.client) us; raw QuickFIX: \(.floor_quickfix.max.cpu_us_per_msg) us per message, both sides",
  "other load on the machine meanwhile: \([$i.fixed, $i.max_levels[]] | map(.other_cpu_share) | max * 100 | round)% of the CPUs at most (compare runs only when this is low)"
' bench/results/latest.json
jq -r '.events as $e |
  "events: backlog published at \($e.publish_throughput.events_per_s | floor)/s (target >= 100000/s: \(if $e.publish_throughput.events_per_s >= 100000 then "met" else "NOT met" end)); report received -> Kafka delivery at \($e.publish_latency.offered_per_s)/s: p50 \($e.publish_latency.latency.p50_us / 1000) ms, p99 \($e.publish_latency.latency.p99_us / 1000) ms",
  "FIX path p99 at \($e.fix_path_without_kafka.offered_per_s)/s: \($e.fix_path_without_kafka.latency.p99_us / 1000) ms without Kafka, \($e.fix_path_with_kafka.latency.p99_us / 1000) ms with Kafka: \($e.fix_path_p99_increase * 100 | round)% (target <= 10%)"' bench/results/latest.json
jq -e '.summary.exactly_once' bench/results/latest.json >/dev/null
exit "$intake_rc"
