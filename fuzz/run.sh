#!/usr/bin/env bash
# Fuzzes the SIP endpoint's parse and dispatch path (fuzz_targets/sip_message.rs, which
# calls helpline::telephony::sip::fuzz::exercise) for SECONDS (default 300), starting
# from the seed corpus in fuzz/corpus/sip_message.
#
#   fuzz/run.sh [SECONDS]
#
# Exits non-zero on a crash (a panic, an AddressSanitizer report, or one input running
# longer than 10 s) and prints the path of the input that caused it; replay it with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run sip_message <path>
# Inputs that reached new code are kept in fuzz/work/sip_message (not in git), so the
# next run starts from where this one stopped; the committed seeds are only read.
set -euo pipefail

seconds="${1:-300}"
case "$seconds" in
    '' | *[!0-9]*)
        echo "usage: $0 [SECONDS]" >&2
        exit 2
        ;;
esac

# cargo fuzz looks for fuzz/ in the current directory.
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# cargo-fuzz passes nightly-only flags to rustc (-Zsanitizer=address and LLVM's
# sanitizer-coverage passes). Only the stable toolchain is installed on our machines;
# RUSTC_BOOTSTRAP=1 makes stable rustc accept those flags, and stable's standard
# library ships the AddressSanitizer runtime, so the default sanitizer works as is.
export RUSTC_BOOTSTRAP=1

work=fuzz/work/sip_message
log=fuzz/work/sip_message.log
mkdir -p "$work"

# The first corpus directory receives the new inputs; the seeds are the second.
set +e
cargo fuzz run sip_message "$work" fuzz/corpus/sip_message -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

echo
echo "--- sip_message: ${seconds} s"
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
echo "corpus: $(find "$work" -type f | wc -l) inputs in $work"

if [ "$status" -ne 0 ]; then
    echo "CRASH (exit $status); input:" >&2
    grep -oE 'Test unit written to .*' "$log" | sed 's/^Test unit written to /  /' >&2 ||
        echo "  (no input written; see $log)" >&2
    exit 1
fi
echo "no crash"
