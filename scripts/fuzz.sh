#!/usr/bin/env bash
# Runs the libFuzzer targets (fuzz/, bodies in src/fuzz_targets.rs) for SECONDS each and
# prints, per target, the executions and the crashes.
#
#   scripts/fuzz.sh SECONDS [TARGET...]        (default: every target in fuzz/fuzz_targets)
#
# SECONDS 0 builds the harnesses and runs nothing.
# Builds on stable Rust: with cargo-fuzz when installed (`cargo fuzz build --sanitizer
# none --debug-assertions`), else the fuzz crate built plainly with `cargo build
# --release` and the coverage flags cargo-fuzz would pass. Debug assertions (and so
# overflow checks) are on. Each target starts from its seeds (fuzz/corpus/<target>) and
# its regressions (fuzz/regressions/<target>), read only; what it discovers goes to a
# working corpus under $FUZZ_WORK (default: a temporary folder, on /dev/shm when there
# is one, removed at the end), so
# the committed seeds stay small. A crash input is written to fuzz/artifacts/<target>/
# (ignored by git): keep it under fuzz/regressions/<target>/ with its fix, and
# tests/fuzz_corpus.rs replays it on every build.
#
# Environment: FUZZ_NO_BUILD=1 skips the build (run it first, e.g. under a lock of its
# own); FUZZ_ARGS adds libFuzzer flags; CARGO_TARGET_DIR as for cargo (the harnesses
# build in its `fuzz` subfolder).
set -euo pipefail

if [ $# -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
    exit 2
fi
seconds=$1
shift
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}/fuzz"
triple=$(rustc -vV | sed -n 's/^host: //p')

if cargo fuzz --version > /dev/null 2>&1; then
    bindir="$CARGO_TARGET_DIR/$triple/release"
    build() {
        for t in "${targets[@]}"; do
            cargo fuzz build --sanitizer none --debug-assertions "$t"
        done
    }
else
    bindir="$CARGO_TARGET_DIR/release"
    build() {
        RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions" \
            cargo build --release --manifest-path fuzz/Cargo.toml "${targets[@]/#/--bin=}"
    }
fi
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
    build
fi
[ "$seconds" -eq 0 ] && exit 0

work=${FUZZ_WORK:-}
if [ -z "$work" ]; then
    # On tmpfs when there is one: the reader targets write every input to a file.
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        work=$(mktemp -d -p /dev/shm)
    else
        work=$(mktemp -d)
    fi
    trap 'rm -rf "$work"' EXIT
fi
# The reader targets write their input to scratch files under the temporary folder.
export TMPDIR="$work/tmp"
mkdir -p "$TMPDIR"

printf '%-16s %12s %10s %8s %5s %8s  %s\n' target executions exec/s crashes slow seconds corpus
status=0
for t in "${targets[@]}"; do
    bin="$bindir/$t"
    if [ ! -x "$bin" ]; then
        echo "$t: no harness binary at $bin (build it first)" >&2
        exit 2
    fi
    corpus="$work/corpus/$t"
    artifacts="fuzz/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    seeds=("fuzz/corpus/$t")
    [ -d "fuzz/regressions/$t" ] && seeds+=("fuzz/regressions/$t")
    log="$work/$t.log"
    touch "$work/$t.start"
    start=$(date +%s)
    # shellcheck disable=SC2086
    "$bin" "$corpus" "${seeds[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$artifacts/" -rss_limit_mb=4096 -timeout=20 ${FUZZ_ARGS:-} \
        > "$log" 2>&1 || status=1
    elapsed=$(($(date +%s) - start))
    new_inputs() { find "$artifacts" -type f -newer "$work/$t.start" "$@"; }
    # crash-, leak-, timeout- and oom- inputs are failures; slow-unit- inputs (over 10 s,
    # libFuzzer's -report_slow_units) are reported apart.
    crashes=$(new_inputs ! -name 'slow-unit-*' | wc -l)
    slow=$(new_inputs -name 'slow-unit-*' | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(find "$corpus" -type f | wc -l)
    printf '%-16s %12s %10s %8s %5s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
        "$crashes" "$slow" "$elapsed" "$units"
    if [ "$crashes" -gt 0 ]; then
        grep -m1 -A12 -E "panicked|ERROR: libFuzzer" "$log" | sed 's/^/    /' >&2 || true
    fi
    new_inputs | sed 's/^/    input kept: /' >&2
done
exit $status
