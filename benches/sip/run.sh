#!/usr/bin/env bash
# SIP load on this machine, with real peers: sipp as the trunk offers RATE new calls a
# second for SECONDS (each answered, one second of talk, then the caller hangs up) to
# the service (release build, its own process); sipp as the operator's phone answers.
# Then the same two sipp scenarios through Kamailio (Debian package) as a plain
# stateful proxy, for the ratio of the two.
#
# Usage: benches/sip/run.sh [RATE=500] [SECONDS=60] [sqlite|postgres] [helpline|kamailio|both]
# PostgreSQL: HELPLINE_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432),
# a database helpline_sip_bench is made anew there.
# Needs: sipp (sip-tester), kamailio, python3, curl.
set -euo pipefail
RATE=${1:-500}
SECS=${2:-60}
BACKEND=${3:-sqlite}
WHICH=${4:-both}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
calls=$((RATE * SECS))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# CPU seconds (user + system) of processes, from /proc (clock ticks).
cpu_of() {
  local total=0 p
  for p in "$@"; do
    if [ -r "/proc/$p/stat" ]; then
      total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
    fi
  done
  echo "$total"
}

# The phone: answers every call until stopped.
start_phone() {
  sipp -sf "$here/uas.xml" -i 127.0.0.1 -p 5090 -nostdin -max_socket 4096 \
    >"$work/uas.out" 2>&1 &
  pids+=($!)
  sleep 0.5
}

# The trunk: RATE calls a second to $1 until `calls` are placed; writes its screen and
# response times under $work/$2.
run_trunk() {
  local target=$1 tag=$2
  mkdir -p "$work/$tag"
  (cd "$work/$tag" && sipp -sf "$here/uac.xml" "$target" -i 127.0.0.1 -p 5080 \
    -r "$RATE" -m "$calls" -l $((RATE * 20)) -nostdin -timeout $((SECS + 60))s \
    -recv_timeout 10000 -max_socket 4096 -trace_screen -trace_rtt -rtt_freq 1000 \
    -trace_err >"$work/$tag/uac.out" 2>&1) || true
}

# Successful and failed calls, and the INVITE → 200 times (ms) sipp measured.
report_trunk() {
  local tag=$1
  python3 - "$work/$tag" <<'PY'
import glob, re, sys
d = sys.argv[1]
screen = open(glob.glob(d + "/*_screen.log")[0]).read()
def count(name):
    m = re.search(name + r"\s*\|\s*\d+\s*\|\s*(\d+)", screen)
    return int(m.group(1)) if m else -1
ok, failed = count("Successful call"), count("Failed call")
rtts = []
for f in glob.glob(d + "/*_rtt.csv"):
    for line in open(f):
        parts = line.strip().split(";")
        # Date_ms;response_time_ms;rtd_no (whole milliseconds: sipp's resolution)
        if len(parts) >= 2 and parts[1].isdigit():
            rtts.append(float(parts[1]))
rtts.sort()
q = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))] if rtts else float("nan")
print(f"calls ok {ok}, failed {failed} ({100.0 * max(failed, 0) / max(ok + failed, 1):.3f}%); "
      f"INVITE -> 200 at the trunk: p50 {q(0.5):.2f} ms, p99 {q(0.99):.2f} ms, max {q(1.0):.2f} ms")
PY
}

if [ "$WHICH" != kamailio ]; then
  (cd "$root" && cargo build --release --bin helpline >/dev/null 2>&1)
  bin="$root/target/release/helpline"
  case "$BACKEND" in
    sqlite) export DATABASE_URL="sqlite://$work/helpline.db" ;;
    postgres)
      base=${HELPLINE_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432}
      psql "$base/postgres" -qc "drop database if exists helpline_sip_bench" >/dev/null
      psql "$base/postgres" -qc "create database helpline_sip_bench" >/dev/null
      export DATABASE_URL="$base/helpline_sip_bench"
      ;;
    *) echo "backend: sqlite or postgres" >&2; exit 2 ;;
  esac
  export HELPLINE_HTTP_ADDR=127.0.0.1:18181
  export HELPLINE__LOG__LEVEL=warn
  export HELPLINE__SIP__ENABLED=true
  export HELPLINE__SIP__ADDR=127.0.0.1:5070
  export HELPLINE__SIP__TRUNKS='["127.0.0.1"]'
  export HELPLINE__SIP__PHONES='[{ user = "bench", contact = "sip:phone@127.0.0.1:5090" }]'
  # Room for the longest runs' concurrent calls (four relay ports each), below the
  # kernel's ephemeral ports.
  export HELPLINE__MEDIA__PORT_MIN=20000
  export HELPLINE__MEDIA__PORT_MAX=32767
  export HELPLINE__PRIVACY__CALLER_HASH_KEY=bench-caller-hash-key-of-at-least-32-chars
  # From the work folder: the built-in configuration and directory, data files there.
  cd "$work"
  "$bin" migrate >/dev/null
  printf 'bench-password-1234\nbench-password-1234\n' | "$bin" user add bench --role operator >/dev/null
  # The bench operator is available (as if marked so on the board).
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  sql="insert into operator_status (user_id, status, since) select id, 'available', '$now' from users where username = 'bench'"
  if [ "$BACKEND" = sqlite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()" "$work/helpline.db" "$sql"
  else
    psql "$DATABASE_URL" -qc "insert into operator_status (user_id, status, since) select id, 'available', now() from users where username = 'bench'" >/dev/null
  fi
  "$bin" serve >"$work/serve.log" 2>&1 &
  svc=$!
  pids+=("$svc")
  for _ in $(seq 100); do curl -sf "http://$HELPLINE_HTTP_ADDR/readyz" >/dev/null && break; sleep 0.1; done
  start_phone
  before=$(cpu_of "$svc")
  started=$(date +%s.%N)
  run_trunk 127.0.0.1:5070 helpline
  ended=$(date +%s.%N)
  after=$(cpu_of "$svc")
  sleep 2
  echo "== helpline ($BACKEND): $RATE calls/s for $SECS s"
  report_trunk helpline
  python3 - "$before" "$after" "$started" "$ended" "$(getconf CLK_TCK)" <<'PY'
import sys
b, a, s, e, hz = (float(x) for x in sys.argv[1:])
print(f"service CPU: {100 * (a - b) / hz / (e - s):.0f}% of one core over {e - s:.1f} s")
PY
  curl -s "http://$HELPLINE_HTTP_ADDR/metrics" | grep '^helpline_sip_invite_to_ring_seconds{' |
    sed 's/^helpline_sip_invite_to_ring_seconds/INVITE in -> INVITE out to the phone (s)/'
  if [ "$BACKEND" = sqlite ]; then
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print('call records by state:', c.execute(\"select state, count(*) from calls group by state\").fetchall())" "$work/helpline.db"
  else
    psql "$DATABASE_URL" -Atc "select 'call records by state: ' || string_agg(state || '=' || n, ', ') from (select state, count(*) n from calls group by state) s"
  fi
  kill "$svc" 2>/dev/null || true
  kill "${pids[-1]}" 2>/dev/null || true
  sleep 1
fi

if [ "$WHICH" != helpline ]; then
  # 512 MB of shared memory: the 64 MB default runs out at these rates (transactions
  # are kept while their timers run).
  kamailio -m 512 -M 16 -f "$here/kamailio.cfg" -A 'FAR="sip:127.0.0.1:5090"' -P "$work/kamailio.pid" \
    -Y "$work" -w "$work" -DD -E >"$work/kamailio.log" 2>&1 &
  kam=$!
  pids+=("$kam")
  sleep 1
  start_phone
  kids() { pgrep -P "$kam" | tr '\n' ' '; echo "$kam"; }
  before=$(cpu_of $(kids))
  started=$(date +%s.%N)
  run_trunk 127.0.0.1:5072 kamailio
  ended=$(date +%s.%N)
  after=$(cpu_of $(kids))
  echo "== kamailio (stateful proxy, tm): $RATE calls/s for $SECS s"
  report_trunk kamailio
  python3 - "$before" "$after" "$started" "$ended" "$(getconf CLK_TCK)" <<'PY'
import sys
b, a, s, e, hz = (float(x) for x in sys.argv[1:])
print(f"proxy CPU: {100 * (a - b) / hz / (e - s):.0f}% of one core over {e - s:.1f} s")
PY
fi
echo "(work files in $work)"
