#!/usr/bin/env bash
# Installs what the aarch64 (Raspberry Pi 4/5, 64-bit) cross-build needs on Debian 12, only what
# is missing: the cross compiler, qemu-user (to run the aarch64 tests here), and herdgate's -dev
# libraries for arm64 through Debian multiarch. protoc stays the host one (the arm64 libprotobuf is
# the same version). Safe to run any number of times; then builds the cross-aarch64 preset unless
# --no-build is given.   Usage: scripts/setup-cross.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

# The native toolchain, protoc and the amd64 libraries first (the host half of the build).
scripts/setup.sh --no-build

host_packages=(g++-aarch64-linux-gnu qemu-user dpkg-dev file)
# herdgate's libraries for arm64. Header-only ones (nlohmann-json, CLI11, doctest) are
# arch-independent; the host's copies serve both builds. libyaml-cpp-dev is not used on purpose:
# its arm64 package conflicts with the amd64 one.
arm64_packages=(
  libpaho-mqttpp-dev:arm64 libpaho-mqtt-dev:arm64 libssl-dev:arm64
  librdkafka-dev:arm64 libsqlite3-dev:arm64 libprotobuf-dev:arm64 libmodbus-dev:arm64
  libspdlog-dev:arm64 libfmt-dev:arm64 libcpp-httplib-dev:arm64 libsystemd-dev:arm64
  libtomlplusplus-dev:arm64  # header-only, but its CMake config is in the multiarch lib dir
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup-cross: adding the arm64 architecture"
  "${sudo_cmd[@]}" dpkg --add-architecture arm64
  need_update=1
fi
missing=()
for p in "${host_packages[@]}" "${arm64_packages[@]}"; do installed "$p" || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "setup-cross: installing ${missing[*]}"
  need_update=1
fi
if [[ -n "${need_update:-}" ]]; then
  # A third-party source without arm64 indexes only warns; Debian's own must answer.
  "${sudo_cmd[@]}" apt-get update -qq || true
fi
if ((${#missing[@]})); then
  # --no-remove: a multiarch conflict must fail here, never uninstall the host's packages.
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends --no-remove "${missing[@]}"
fi

if [[ "${1:-}" != "--no-build" ]]; then
  cmake --preset cross-aarch64 >/dev/null
  cmake --build --preset cross-aarch64 -j "$(nproc)"
fi
