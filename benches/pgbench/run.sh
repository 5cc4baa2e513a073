#!/bin/sh
# The PostgreSQL ceiling for the call-record benchmark, without the service: pgbench runs
# the service's own statements (call_record.sql: open + five compare-and-set transitions,
# each its own durable commit) and the least a call can cost (six_inserts.sql: six plain
# inserts, no checks), 8 clients, on a scratch database with the service's schema.
# Usage: benches/pgbench/run.sh [postgres://postgres@127.0.0.1:5432]
set -eu
base="${1:-postgres://postgres@127.0.0.1:5432}"
here="$(cd "$(dirname "$0")" && pwd)"
psql -q "$base/postgres" -c "drop database if exists helpline_pgbench" -c "create database helpline_pgbench"
psql -q "$base/helpline_pgbench" -c "create table users (id bigserial primary key)"
sed -n '/^create table calls/,/^create table audit_log/p' "$here/../../migrations/postgres/0001_foundation.sql" \
    | sed '$d' | psql -q "$base/helpline_pgbench"
for script in call_record six_inserts; do
    echo "== $script"
    pgbench -n -M prepared -c 8 -j 2 -T 15 -f "$here/$script.sql" "$base/helpline_pgbench" \
        | grep -E "latency average|tps"
done
psql -q "$base/postgres" -c "drop database helpline_pgbench"
