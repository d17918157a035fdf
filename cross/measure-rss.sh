#!/usr/bin/env bash
# Peak and settled RSS of a herdgate binary at a herd of N collars (default 1,000): its own
# mosquitto and dev Kafka (native, loopback), a registry of N collars, herd-sim publishing 10
# readings per collar as fast as it can, then an idle minute's worth of status. For the aarch64
# build run it under qemu: the figure is then the qemu-aarch64 process (emulator included), an
# upper bound of what the Pi sees.
# Usage: cross/measure-rss.sh [herdgate binary] [collars]     (env EMULATOR="qemu-aarch64 -L /";
#        NATIVE=<build dir> for herd-sim and herd-dev-kafka, default build/dev)
set -euo pipefail
cd "$(dirname "$0")/.."
gw=${1:-build/cross-aarch64/gateway/herdgate}
collars=${2:-1000}
native=${NATIVE:-build/dev}  # herd-sim and herd-dev-kafka stay native
if [[ -z "${EMULATOR+x}" ]] && file -L "$gw" | grep -q aarch64; then EMULATOR="qemu-aarch64 -L /"; fi
read -r -a emu <<<"${EMULATOR:-}"
run=$(mktemp -d /tmp/herdgate-rss.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run"; }
trap cleanup EXIT
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { local end=$((SECONDS + $1)); shift; until "$@"; do ((SECONDS < end)) || { echo "timed out: $*" >&2; exit 1; }; sleep 0.1; done; }

port=$((20000 + RANDOM % 40000))
mkdir -p "$run/mq"
printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$run/mq.conf"
mosquitto -c "$run/mq.conf" >"$run/mq.log" 2>&1 & pids+=($!)
wait_for 10 port_open "$port"
"$native/cloud/herd-dev-kafka" --bootstrap-file "$run/bootstrap" >"$run/kafka.log" 2>&1 & pids+=($!)
wait_for 20 test -s "$run/bootstrap"
"$native/firmware-sim/herd-sim" --collars "$collars" --count 0 --registry-out "$run/collars.csv"
cat >"$run/gw.toml" <<CONF
[gateway]
id = "rss-gw"
[mqtt]
broker_uri = "tcp://127.0.0.1:$port"
client_id = "herdgate-rss"
[kafka]
bootstrap = "$(cat "$run/bootstrap")"
[outbox]
path = "$run/outbox.db"
[registry]
path = "$run/collars.csv"
[metrics]
listen = "127.0.0.1:0"
CONF
"${emu[@]}" "$gw" --config "$run/gw.toml" --ready-file "$run/ready" >"$run/gw.log" 2>&1 & gw_pid=$!; pids+=($gw_pid)
wait_for 60 test -e "$run/ready"
rss() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$gw_pid/status"; }
echo "ready: VmRSS $(rss VmRSS) kB"
start=$SECONDS
"$native/firmware-sim/herd-sim" --broker "tcp://127.0.0.1:$port" --collars "$collars" --count $((collars * 10)) --rate 0 --seed 1 >/dev/null
echo "published $((collars * 10)) readings in $((SECONDS - start)) s"
wait_for 120 sh -c "[ \"\$(sqlite3 '$run/outbox.db' 'SELECT count(*) FROM outbox')\" = 0 ]"
echo "forwarded all in $((SECONDS - start)) s"
sleep 5
echo "herdgate ($gw${EMULATOR:+ under $EMULATOR}), $collars collars: VmHWM $(rss VmHWM) kB, VmRSS $(rss VmRSS) kB"
echo "resident kB by mapping (/proc/<pid>/smaps; file mappings: pages of the program and its libraries, mostly clean and shared):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=($6 == "") ? "[anon]" : $6} /^Rss:/{kb[name]+=$2}
     END{for (n in kb) if (kb[n] >= 100) printf "  %6d %s\n", kb[n], n}' "/proc/$gw_pid/smaps" | sort -rn | head -12
