#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts the broker simulator and the gateway
# on loopback, submits a handful of orders (filled in parts, filled at once, rejected,
# canceled, an idempotent replay and an invalid one), prints each order's life from
# pending_new to its final state, reads the execution events back from Kafka (librdkafka's
# mock cluster, reached by its bootstrap address like a real one), then stops everything.
# Ports: BROKERGW_DEMO_FIX_PORT (default 19878), BROKERGW_DEMO_API_PORT (default 18080).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
scripts/deps.sh
echo "== building (first build takes a few minutes)"
scripts/build.sh build -- brokergw brokersim kafka-mock-cluster >/dev/null

FIX_PORT=${BROKERGW_DEMO_FIX_PORT:-19878}
API_PORT=${BROKERGW_DEMO_API_PORT:-18080}
RUN=$(mktemp -d /tmp/brokergw-demo.XXXXXX)
API="http://127.0.0.1:$API_PORT"
SIM_PID= GW_PID= KAFKA_PID=

cleanup() {
  [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null || true
  [ -n "$KAFKA_PID" ] && kill "$KAFKA_PID" 2>/dev/null && wait "$KAFKA_PID" 2>/dev/null || true
}
trap cleanup EXIT

cat >"$RUN/sim.toml" <<TOML
listen_address = "127.0.0.1"
port = $FIX_PORT
sender_comp_id = "SIMBROKER"
target_comp_id = "BROKERGW"
data_dictionary = "$ROOT/fixspec/FIX44.brokergw.xml"
state_dir = "$RUN/sim-state"
journal_file = "$RUN/sim-journal.jsonl"

[[rules]]
symbol = "AAPL"
action = "fill"
fills = 3
fill_interval_ms = 300
fill_price = "187.25"
price_step = "0.05"

[[rules]]
symbol = "REJ"
action = "reject"
reason = "symbol not tradable at this broker"

[[rules]]
symbol = "HOLD"
action = "ack"
TOML

echo "== starting Kafka (librdkafka's mock cluster, 3 brokers on loopback)"
build/tools/kafka-mock-cluster --brokers 3 --topic brokergw.events --partitions 3 \
  >"$RUN/kafka.out" 2>"$RUN/kafka.log" &
KAFKA_PID=$!
wait_for() {  # wait_for <seconds> <command...>
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.1
  done
}
wait_for 15 grep -q '^bootstrap=' "$RUN/kafka.out" || { cat "$RUN/kafka.log"; exit 1; }
BOOTSTRAP=$(sed -n 's/^bootstrap=//p' "$RUN/kafka.out")
echo "   bootstrap servers: $BOOTSTRAP"

cat >"$RUN/brokergw.toml" <<TOML
[gateway]
instance_id = "demo-gw"
state_dir = "$RUN/gw-state"
log_level = "info"

[api]
listen_address = "127.0.0.1"
listen_port = $API_PORT

[brokers.sim]
type = "fix"
host = "127.0.0.1"
port = $FIX_PORT
sender_comp_id = "BROKERGW"
target_comp_id = "SIMBROKER"
data_dictionary = "$ROOT/fixspec/FIX44.brokergw.xml"
heartbeat_interval_s = 5
reconnect_interval_s = 1

[kafka]
bootstrap_servers = "$BOOTSTRAP"
topic = "brokergw.events"
TOML

echo "== starting the broker simulator on 127.0.0.1:$FIX_PORT"
build/sim/brokersim --config "$RUN/sim.toml" >"$RUN/sim.log" 2>&1 &
SIM_PID=$!
wait_for 15 grep -q listening "$RUN/sim.log" || { cat "$RUN/sim.log"; exit 1; }

echo "== starting the gateway; internal API on $API"
build/gateway/brokergw --config "$RUN/brokergw.toml" >"$RUN/gateway.log" 2>&1 &
GW_PID=$!
healthy() { curl -sf "$API/v1/health" | jq -e '.status == "ok"'; }
wait_for 20 healthy || { cat "$RUN/gateway.log"; exit 1; }
echo "   FIX session logged on: $(curl -s "$API/v1/health" | jq -c .brokers)"

submit() {  # submit <id> <symbol> <qty> <type> [limit]
  local body
  body=$(jq -nc --arg id "$1" --arg sym "$2" --arg qty "$3" --arg type "$4" --arg px "${5:-}" \
    '{client_order_id:$id, account:"ACC-DEMO", broker:"sim", symbol:$sym, side:"buy",
      quantity:$qty, order_type:$type, time_in_force:"day"}
     + (if $px == "" then {} else {limit_price:$px} end)')
  curl -s -o "$RUN/resp.json" -w '%{http_code}' -X POST "$API/v1/orders" \
    -H 'Content-Type: application/json' -d "$body"
}

echo "== submitting orders"
echo "   demo-aapl-1 buy 300 AAPL limit 187.40 (broker fills in 3 parts): HTTP $(submit demo-aapl-1 AAPL 300 limit 187.40), state $(jq -r .state "$RUN/resp.json")"
echo "   demo-msft-1 buy 50 MSFT market (broker fills at once):           HTTP $(submit demo-msft-1 MSFT 50 market), state $(jq -r .state "$RUN/resp.json")"
echo "   demo-rej-1  buy 10 REJ market (broker rejects):                  HTTP $(submit demo-rej-1 REJ 10 market), state $(jq -r .state "$RUN/resp.json")"
echo "   demo-hold-1 buy 25 HOLD limit 10.5 (broker acks, we cancel):     HTTP $(submit demo-hold-1 HOLD 25 limit 10.5), state $(jq -r .state "$RUN/resp.json")"
echo "   demo-aapl-1 again, same body (idempotent replay):                HTTP $(submit demo-aapl-1 AAPL 300 limit 187.40), state $(jq -r .state "$RUN/resp.json")"
echo "   demo-aapl-1 again, other quantity (conflict):                    HTTP $(submit demo-aapl-1 AAPL 301 limit 187.40), $(jq -r .error.code "$RUN/resp.json")"
code=$(curl -s -o "$RUN/resp.json" -w '%{http_code}' -X POST "$API/v1/orders" \
  -d '{"client_order_id":"demo-bad-1","account":"ACC-DEMO","broker":"sim","symbol":"AAPL","side":"up","quantity":10,"order_type":"limit"}')
echo "   demo-bad-1 with bad fields (nothing stored):                     HTTP $code, $(jq -c '[.error.fields[] | "\(.field): \(.reason)"]' "$RUN/resp.json")"

state_is() { curl -s "$API/v1/orders/$1" | jq -e --arg s "$2" '.state == $s'; }
wait_for 15 state_is demo-hold-1 new
code=$(curl -s -o "$RUN/resp.json" -w '%{http_code}' -X POST "$API/v1/orders/demo-hold-1/cancel" \
  -d '{"client_cancel_id":"demo-cxl-1"}')
echo "   cancel demo-hold-1 (client_cancel_id demo-cxl-1):                HTTP $code, state $(jq -r .state "$RUN/resp.json")"

echo "== waiting for the broker's answers"
wait_for 20 state_is demo-aapl-1 filled
wait_for 20 state_is demo-msft-1 filled
wait_for 20 state_is demo-rej-1 rejected
wait_for 20 state_is demo-hold-1 canceled

for id in demo-aapl-1 demo-msft-1 demo-rej-1 demo-hold-1; do
  curl -s "$API/v1/orders/$id" | jq -r '
    "\n\(.client_order_id): \(.side) \(.quantity) \(.symbol) \(.order_type)"
    + (if .limit_price then " @ \(.limit_price)" else "" end)
    + "  ->  \(.state | ascii_upcase)  cum \(.cum_qty) leaves \(.leaves_qty) avg \(.avg_price)"
    + (if .broker_order_id != "" then "  broker id \(.broker_order_id)" else "" end)
    + (if .reject_reason != "" then "\n   reason: \(.reject_reason)" else "" end),
    (.history[] | "   \(.at)  \(.state | . + " " * (18 - length))\(.reason)")'
done
echo
echo "== execution events read back from Kafka (topic brokergw.events, key = account)"
published() { curl -s "$API/v1/health" | jq -e '.events.outbox_depth == 0 and .events.last_seq > 0'; }
wait_for 20 published
kcat -b "$BOOTSTRAP" -t brokergw.events -C -o beginning -e -q -f '%s\n' 2>/dev/null |
  jq -s -r 'sort_by(.seq)[] | "   \(.event_id)  \(.type | . + " " * (22 - length))\(.client_order_id)  \(.state)"
    + (if .last_qty then "  \(.last_qty)@\(.last_px)" else "" end)'
echo "   the polling API serves the same $(curl -s "$API/v1/events?after=0&limit=1000" | jq '.events | length') events: curl '$API/v1/events?after=0'"
echo
echo "== the simulator received $(grep -c '"msg_type":"D"' "$RUN/sim-journal.jsonl") NewOrderSingles for 4 distinct orders (one each, replay not resent)"

echo "== stopping the gateway and the simulator"
kill "$GW_PID"; wait "$GW_PID" && echo "   gateway stopped cleanly"; GW_PID=
kill "$SIM_PID"; wait "$SIM_PID" || true; SIM_PID=
kill "$KAFKA_PID"; wait "$KAFKA_PID" || true; KAFKA_PID=
echo "== logs and state in $RUN"
