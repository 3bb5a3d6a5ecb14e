#!/usr/bin/env bash
# The test command (README, .ci/run): installs what is missing, builds, runs every test tier
# under ctest, then runs the suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# and the concurrent parts under ThreadSanitizer, and checks formatting.
# BROKERGW_QUICK=1 skips the sanitizer builds (for a fast local loop).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

echo "== build (RelWithDebInfo)"
scripts/build.sh build
echo "== tests"
ctest --test-dir build --output-on-failure --timeout 300 -j2

if [ "${BROKERGW_QUICK:-0}" != 1 ]; then
  echo "== build + tests under AddressSanitizer and UndefinedBehaviorSanitizer"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug "-DBROKERGW_SANITIZE=address,undefined"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure --timeout 600 -j2
  echo "== build + concurrency tests under ThreadSanitizer"
  scripts/build.sh build-tsan -DCMAKE_BUILD_TYPE=Debug -DBROKERGW_SANITIZE=thread
  TSAN_OPTIONS="halt_on_error=1 suppressions=$(pwd)/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure --timeout 600 \
    -j2 -L concurrency
fi

echo "== format check"
git ls-files '*.h' '*.cpp' | xargs clang-format-14 --dry-run --Werror
echo "== all tests passed"
