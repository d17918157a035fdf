#!/usr/bin/env bash
# Installs what herdgate needs on Debian 12 (only what is missing) and builds one CMake preset.
# Safe to run any number of times. Usage: scripts/setup.sh [preset|--no-build]   (default: release)
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"

packages=(
  build-essential cmake ninja-build pkg-config
  libpaho-mqttpp-dev libpaho-mqtt-dev libssl-dev  # Paho C++'s CMake config needs the C library and OpenSSL
  librdkafka-dev libsqlite3-dev libprotobuf-dev protobuf-compiler libmodbus-dev
  libspdlog-dev libfmt-dev doctest-dev mosquitto mosquitto-clients
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev sqlite3
  curl  # the demo reads /metrics
  socat  # the pty pair of the Modbus RTU tests
  faketime  # libfaketime: the clock fault test moves the gateway's wall clock with it
  libsystemd-dev systemd  # sd_notify; systemd-analyze checks the packaged unit
  e2fsprogs util-linux file  # the watchdog fault test freezes an ext4 loop mount; test-deb.sh
  libpq-dev postgresql  # the PostgreSQL read model (libpq); tests start their own server 15
  openssl  # the MQTT TLS tests make their CA and certificates
  clang-14 libclang-rt-14-dev  # libFuzzer harnesses (scripts/fuzz.sh, preset fuzz)
  python3-jsonschema  # the API tests validate ICAR ADE responses against the published schemas
  chromium  # the dashboard test renders the page in headless Chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's mosquitto package may start a system-wide broker on :1883; the demo and the tests start
# their own on free loopback ports and do not touch it.

[[ "$preset" == --no-build ]] && exit 0
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
