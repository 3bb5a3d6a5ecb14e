#!/usr/bin/env bash
# Configures and builds brokergw with clang++ and Ninja.
# Usage: scripts/build.sh [build-dir] [cmake args...] [-- ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
shift || true
cmake_args=()
while (($#)) && [ "$1" != "--" ]; do cmake_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++-14 "${cmake_args[@]}" >/dev/null
ninja -C "$BUILD_DIR" ${BROKERGW_JOBS:+-j "$BROKERGW_JOBS"} "$@"
