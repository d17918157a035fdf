#!/usr/bin/env bash
# The demo: a simulated herd of 50 collars -> mosquitto -> herdgate -> SQLite outbox -> Kafka
# (the dev cluster: librdkafka's mock, Kafka protocol over loopback TCP). Installs and builds
# what is missing first, starts everything on free loopback ports, stops all of it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
bin="$PWD/build/release"
run="$(mktemp -d /tmp/herdgate-demo.XXXXXX)"
collars=50
readings=$((collars * 10))

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo: everything stopped; logs and the outbox are in $run"
}
trap cleanup EXIT

wait_for() {  # wait_for <seconds> <what> <command...>
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    if ((SECONDS > deadline)); then echo "demo: timed out waiting for $what" >&2; exit 1; fi
    sleep 0.1
  done
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  while :; do p=$((20000 + RANDOM % 40000)); port_open "$p" || { echo "$p"; return; }; done
}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "mosquitto (own config, loopback only)"
mqtt_port=$(free_port)
mkdir -p "$run/mosquitto"
cat >"$run/mosquitto.conf" <<CONF
user root
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence true
persistence_location $run/mosquitto/
log_dest file $run/mosquitto.log
CONF
mosquitto -c "$run/mosquitto.conf" >"$run/mosquitto.out" 2>&1 &
pids+=($!)
wait_for 10 "mosquitto" port_open "$mqtt_port"
echo "mqtt: tcp://127.0.0.1:$mqtt_port"

step "dev Kafka: 3 brokers, herd.events with 6 partitions"
"$bin/cloud/herd-dev-kafka" --bootstrap-file "$run/bootstrap" >"$run/dev-kafka.log" 2>&1 &
pids+=($!)
wait_for 20 "dev Kafka" test -s "$run/bootstrap"
bootstrap=$(cat "$run/bootstrap")
echo "kafka: $bootstrap"

step "collar registry for $collars collars (from the simulator)"
"$bin/firmware-sim/herd-sim" --collars "$collars" --count 0 --registry-out "$run/collars.csv"
head -n 4 "$run/collars.csv"

step "herdgate"
cat >"$run/herdgate.toml" <<CONF
[gateway]
id = "demo-farm-gw"
log_level = "info"
[mqtt]
broker_uri = "tcp://127.0.0.1:$mqtt_port"
client_id = "herdgate-demo"
topics = ["farm/+/collar/+/telemetry"]
[kafka]
bootstrap = "$bootstrap"
[outbox]
path = "$run/outbox.db"
synchronous = "full"
[registry]
path = "$run/collars.csv"
[metrics]
listen = "127.0.0.1:0"
CONF
"$bin/gateway/herdgate" --config "$run/herdgate.toml" --ready-file "$run/ready" >"$run/herdgate.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
wait_for 20 "herdgate" test -e "$run/ready"
cat "$run/herdgate.log"

step "simulated herd: $collars collars, $readings readings at 100/s, plus two bad messages"
"$bin/firmware-sim/herd-sim" --broker "tcp://127.0.0.1:$mqtt_port" --collars "$collars" \
  --count "$readings" --rate 100 --seed 42
mosquitto_pub -p "$mqtt_port" -q 1 -t farm/farm-01/collar/C-00001/telemetry -m '{"seq": 1, "ts": '
mosquitto_pub -p "$mqtt_port" -q 1 -t farm/farm-01/collar/C-77777/telemetry -m '{"seq": 1, "ts": 0}'

step "what arrived in Kafka (herd.events), read as any consumer would"
"$bin/cloud/herd-events" --bootstrap "$bootstrap" --expect "$readings" --show 2 --idle-ms 2000

step "stopping herdgate (SIGTERM: ingest first, then forwarding)"
kill -TERM "$gw_pid"
wait "$gw_pid" || true
tail -n 1 "$run/herdgate.log"
echo "outbox rows left:   $(sqlite3 "$run/outbox.db" 'SELECT count(*) FROM outbox')"
echo "dead letters:"
sqlite3 -header -column "$run/outbox.db" 'SELECT id, source, reason, forwarded FROM dead_letter'
