#!/bin/sh
# Runs one fuzz target for SECONDS (default 600) at the lowest priority, with
# the committed seeds beside the (ignored) working corpus; overflow checks and
# debug assertions on, no sanitizer (the crate is safe Rust but for the one
# kernel wrapper, and ASan triples build and run time on two cores); an input
# that runs over 10 s counts as a crash (a hang):
#   fuzz/run.sh tape_program 600
set -e
cd "$(dirname "$0")"
target=$1
seconds=${2:-600}
mkdir -p "corpus/$target"
RUSTC_BOOTSTRAP=1 exec nice -n 19 cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1
