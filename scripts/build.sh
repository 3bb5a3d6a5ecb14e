#!/usr/bin/env bash
# Configures and builds brokergw with clang++ and Ninja.
# Usage: scripts/build.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build}
shift || true
cmake -G Ninja -S . -B "$BUILD_DIR" -DCMAKE_CXX_COMPILER=clang++-14 "$@" >/dev/null
ninja -C "$BUILD_DIR" ${BROKERGW_JOBS:+-j "$BROKERGW_JOBS"}
