#!/usr/bin/env bash
# The dashboard's aggregates run as raw SQL in sqlite3 or psql, straight from the
# records, for comparing with the service (cargo bench --bench stats_dashboard).
#   benches/stats/raw.sh sqlite:///tmp/demo/helpline.db [FROM TO]
#   benches/stats/raw.sh postgres://postgres@127.0.0.1:5432/demo [FROM TO]
# FROM and TO are days (TO excluded) on the Rome clock; default the whole of 2025.
# Prints each statement's time and the total; runs the file twice and reports the
# second run (the first warms the page cache).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
url="${1:?database URL}"
from="${2:-2025-01-01}"
to="${3:-2026-01-01}"
utc() { TZ=UTC date -d "TZ=\"Europe/Rome\" $1 00:00" +%Y-%m-%dT%H:%M:%S+00:00; }
start="$(utc "$from")"
end="$(utc "$to")"

case "$url" in
  sqlite://*)
    db="${url#sqlite://}"
    sql="$(sed -e "s/:start/'$start'/g" -e "s/:end/'$end'/g" "$here/year.sqlite.sql")"
    run() { printf '.timer on\n%s\n' "$sql" | sqlite3 "$db" | grep '^Run Time' | awk '{print $4 * 1000}'; }
    ;;
  postgres://*)
    sql="$(sed -e "s/:start/'$start'::timestamptz/g" -e "s/:end/'$end'::timestamptz/g" "$here/year.postgres.sql")"
    run() { printf '\\timing on\n%s\n' "$sql" | psql -q -X "$url" | grep '^Time:' | awk '{print $2}'; }
    ;;
  *) echo "raw.sh: sqlite://PATH or postgres://URL" >&2; exit 2 ;;
esac

run >/dev/null
times="$(run)"
echo "raw SQL, $from to $to, per statement (ms):" $(echo "$times" | awk '{printf "%.0f ", $1}')
echo "$times" | awk '{s += $1} END {printf "raw SQL total: %.0f ms\n", s}'
