#!/usr/bin/env bash
# The demo: a realistic simulated herd of 50 animals (collars and boluses, ten virtual days with
# estrus, fevers, calvings and device faults) -> mosquitto -> herdgate -> SQLite outbox -> Kafka
# (the dev cluster: librdkafka's mock, Kafka protocol over loopback TCP), plus the simulator's
# ground truth of every episode. Installs and builds what is missing first, starts everything on
# free loopback ports, stops all of it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh release
bin="$PWD/build/release"
run="$(mktemp -d /tmp/herdgate-demo.XXXXXX)"
collars=50
days=10  # the health rules need a week of own baseline: alerts are scored on days 8-10
# The same herd for the registry and the readings: seed, size and days must match (collar moves
# are in the registry with their valid_from).
# More device faults than the example config, so the run shows a fallen and a moved collar.
herd=(--config firmware-sim/examples/herd.toml --collars "$collars" --days "$days" --seed 42
  --fall-off-per-year 10 --move-per-year 10 --duplicate-pct 1 --malformed-pct 0.2)

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
# Queue for a slow subscriber instead of dropping beyond mosquitto's default of 1000.
max_queued_messages 1000000
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

step "collar registry for $collars animals (from the simulator, with collar moves)"
"$bin/firmware-sim/herd-sim" "${herd[@]}" --count 0 --registry-out "$run/collars.csv"
cp "$run/collars.csv" "$run/sim-herd.csv"  # the animals the ground truth covers (alerts_vs_truth.py)
head -n 4 "$run/collars.csv"
echo "moves: $(($(wc -l <"$run/collars.csv") - collars - 1))"

step "Modbus devices: a collar base station (TCP) and a walk-over scale (RS-485 RTU over a socat pty pair)"
# The base station hears a second group of 10 cows whose collars (B-00001..) only report by radio
# to it; they join the registry as animals 040000000000001.. (ISO 11784: country 040, Austria).
"$bin/firmware-sim/herd-sim" --collars 10 --count 0 --registry-out "$run/station-collars.csv"
tail -n +2 "$run/station-collars.csv" | sed 's/^C-/B-/; s/,276/,040/' >>"$run/collars.csv"
station_port=$(free_port)
"$bin/firmware-sim/modbus/herd-sim-modbus" --device station --collars 10 --tcp "127.0.0.1:$station_port" \
  --elapsed 1800 --speed 1 >"$run/station.log" 2>&1 &
station_pid=$!
pids+=($station_pid)
# The scale 30 s into the 05:00 milking, at 20x: the herd's 50 animals cross it 8-20 s apart.
socat pty,raw,echo=0,link="$run/tty-scale" pty,raw,echo=0,link="$run/tty-gateway" 2>"$run/socat.log" &
pids+=($!)
wait_for 5 "socat pty pair" test -e "$run/tty-gateway"
"$bin/firmware-sim/modbus/herd-sim-modbus" --device scale --collars "$collars" --rtu "$run/tty-scale" \
  --baud 19200 --parity E --slave-id 3 --elapsed 18030 --speed 20 >"$run/scale.log" 2>&1 &
scale_pid=$!
pids+=($scale_pid)
wait_for 10 "base station" port_open "$station_port"
cat "$run/station.log" "$run/scale.log"

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

[[modbus.device]]
name = "station-1"
profile = "$PWD/config/modbus/herd-base-station.toml"
transport = "tcp"
host = "127.0.0.1"
port = $station_port
poll_interval_ms = 1000
farm_id = "farm-01"
collar_id_prefix = "B-"
[modbus.device.records]
count = 10

[[modbus.device]]
name = "scale-1"
profile = "$PWD/config/modbus/herd-walkover-scale.toml"
transport = "rtu"
serial = "$run/tty-gateway"
baud = 19200
parity = "E"
unit_id = 3
poll_interval_ms = 250
CONF
"$bin/gateway/herdgate" --config "$run/herdgate.toml" --ready-file "$run/ready" >"$run/herdgate.log" 2>&1 &
gw_pid=$!
pids+=($gw_pid)
wait_for 20 "herdgate" test -e "$run/ready"
cat "$run/herdgate.log"

step "herd-projector: herd.events -> the SQLite read model (event store, animal state, offsets)"
cat >"$run/herd-projector.toml" <<CONF
[kafka]
bootstrap = "$bootstrap"
[read_model]
path = "$run/read_model.db"
[metrics]
listen = "127.0.0.1:0"
CONF
"$bin/cloud/projector/herd-projector" --config "$run/herd-projector.toml" --ready-file "$run/projector.ready" \
  --metrics-address-file "$run/projector.metrics" >"$run/herd-projector.log" 2>&1 &
proj_pid=$!
pids+=($proj_pid)
wait_for 30 "herd-projector" test -e "$run/projector.ready"
echo "projector metrics: http://$(cat "$run/projector.metrics")/metrics"

step "simulated herd: $collars animals, $days virtual days in ~45 s (virtual time at 20,000x), plus two bad messages"
"$bin/firmware-sim/herd-sim" "${herd[@]}" --broker "tcp://127.0.0.1:$mqtt_port" --speed 20000 \
  --ground-truth-out "$run/ground-truth.jsonl" 2>"$run/herd-sim.err"
cat "$run/herd-sim.err"
# Duplicates are stored once and malformed frames dead-lettered: Kafka gets the valid ones.
readings=$(sed -n 's/.* valid \([0-9]*\),.*/\1/p' "$run/herd-sim.err")
mosquitto_pub -p "$mqtt_port" -q 1 -t farm/farm-01/collar/C-00001/telemetry -m '{"seq": 1, "ts": '
mosquitto_pub -p "$mqtt_port" -q 1 -t farm/farm-01/collar/C-77777/telemetry -m '{"seq": 1, "ts": 0}'

step "stopping the Modbus devices (herdgate logs each device failing once, and keeps polling)"
kill -TERM "$station_pid" "$scale_pid"
wait "$station_pid" "$scale_pid" 2>/dev/null || true
metrics=$(sed -n 's/.*metrics and health on \(http:[^ ]*\) .*/\1/p' "$run/herdgate.log" | head -n 1)
curl -s "$metrics/metrics" | grep -E '^herdgate_modbus_(polls_ok_total|readings_total|unchanged_total)' || true

step "ground truth: what really happened in the herd ($run/ground-truth.jsonl)"
sed -n 's/.*"kind":"\([a-z_]*\)".*/\1/p' "$run/ground-truth.jsonl" | sort | uniq -c
grep -m 2 '"kind":"fever"\|"kind":"estrus"' "$run/ground-truth.jsonl" || true

step "what arrived in Kafka (herd.events), read as any consumer would"
"$bin/cloud/herd-events" --bootstrap "$bootstrap" --expect "$readings" --show 2 --idle-ms 2000

step "the projector's read model: every reading applied once (duplicates dropped by event_id)"
# Every record consumed is applied, a duplicate, an unknown type or dead-lettered.
consumed() {
  sqlite3 "$run/read_model.db" \
    'SELECT coalesce(sum(applied + duplicates + unknown_type + dead_lettered), 0) FROM progress' 2>/dev/null || echo 0
}
consumed_all() { test "$(consumed)" -ge "$readings"; }
wait_for 180 "the projector to consume $readings records" consumed_all
# Alert changes were written to the read model's outbox with the state; the relay produces them
# to herd.alerts and deletes each row after Kafka's ack.
outbox_empty() { test "$(sqlite3 "$run/read_model.db" 'SELECT count(*) FROM outbox' 2>/dev/null || echo 1)" = 0; }
wait_for 60 "the relay to empty the alert outbox" outbox_empty
curl -s "http://$(cat "$run/projector.metrics")/metrics" |
  grep -E '^herd_(projector_alert_changes_total|alerts_relay_(relayed_total|already_delivered_total|outbox_depth|leader))' || true
kill -TERM "$proj_pid"
wait "$proj_pid" || true
tail -n 1 "$run/herd-projector.log"
sqlite3 -header -column "$run/read_model.db" \
  'SELECT sum(applied) AS applied, sum(duplicates) AS duplicates, sum(unknown_type) AS skipped,
          sum(dead_lettered) AS dead_lettered FROM progress'
"$bin/cloud/projector/herd-projector" animals --db "$run/read_model.db"
echo "rebuild from the event store, compared with the live read model:"
"$bin/cloud/projector/herd-projector" rebuild --from store --config "$run/herd-projector.toml" \
  --into "$run/rebuilt.db" | tail -n 1
echo "live:    $("$bin/cloud/projector/herd-projector" digest --db "$run/read_model.db")"

step "health alerts: what the projector raised (herd.alerts), beside the ground truth"
sqlite3 -header -column "$run/read_model.db" \
  "SELECT kind, count(*) AS alerts, sum(status = 'active') AS active, sum(status = 'resolved') AS resolved
   FROM alerts GROUP BY kind ORDER BY kind"
# Detected / missed / false per kind, matched like herd-eval's own runs (README, Health alerts).
"$bin/bench/herd_eval/herd-eval" --score-db "$run/read_model.db" --truth "$run/ground-truth.jsonl" \
  --head "$collars" --days "$days" --start 2026-06-01

step "herd-api over the read model: the alerts through the herd-alerts CLI, beside the ground truth"
cat >"$run/herd-api.toml" <<CONF
[api]
listen = "127.0.0.1:0"
[read_model]
path = "$run/read_model.db"
[kafka]
bootstrap = "$bootstrap"
CONF
"$bin/cloud/api/herd-api" --config "$run/herd-api.toml" --address-file "$run/api.address" >"$run/herd-api.log" 2>&1 &
api_pid=$!
pids+=($api_pid)
wait_for 30 "herd-api" test -e "$run/api.address"
api_url="http://$(cat "$run/api.address")"
"$bin/cloud/api/herd-alerts" --url "$api_url"
"$bin/cloud/api/herd-alerts" --url "$api_url" --json alerts --status all >"$run/alerts.json"
/usr/bin/python3 scripts/alerts_vs_truth.py "$run/alerts.json" "$run/ground-truth.jsonl" "$run/sim-herd.csv"
echo "dashboard: $api_url/ (while the demo runs; afterwards: $bin/cloud/api/herd-api --config $run/herd-api.toml)"
kill -TERM "$api_pid"
wait "$api_pid" || true

step "stopping herdgate (SIGTERM: ingest first, then forwarding)"
kill -TERM "$gw_pid"
wait "$gw_pid" || true
tail -n 1 "$run/herdgate.log"
echo "outbox rows left:   $(sqlite3 "$run/outbox.db" 'SELECT count(*) FROM outbox')"
echo "dead letters:"
sqlite3 -header -column "$run/outbox.db" 'SELECT id, source, reason, forwarded FROM dead_letter'
