#!/usr/bin/env bash
# Installs the Debian 12 packages brokergw needs to build, test and run (as root; a no-op
# when everything is present). docs/DEPENDENCIES.md says why each one is here.
set -euo pipefail
PACKAGES=(
  clang-14 libclang-rt-14-dev cmake ninja-build pkg-config clang-format-14
  libquickfix-dev librdkafka-dev liblmdb-dev lmdb-utils libspdlog-dev libfmt-dev
  libtomlplusplus-dev nlohmann-json3-dev libcpp-httplib-dev libexpected-dev libcli11-dev
  libsystemd-dev libssl-dev libgtest-dev libgmock-dev
  curl jq kcat procps iproute2
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: run as root (or install these packages): ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
