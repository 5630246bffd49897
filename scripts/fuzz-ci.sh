#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, starting from its kept
# seeds, and fails if any target crashes (docs/fuzzing.md).
#
#   scripts/fuzz-ci.sh                 # CI: 30 s per target
#   FUZZ_SECONDS=3600 scripts/fuzz-ci.sh engine   # one target for an hour
#
# Environment:
#   FUZZ_SECONDS    run time per target (default 30)
#   FUZZ_SANITIZER  none (default: the crates are safe Rust, and it runs
#                   about twice as fast) or address
# Arguments: target names to run (default: all).
#
# Each target grows its working corpus in crates/CRATE/fuzz/corpus/TARGET
# (git-ignored; a fresh clone starts from the seeds in
# crates/CRATE/fuzz/seeds/TARGET). A crash leaves its input in
# crates/CRATE/fuzz/artifacts/TARGET/ and the command to replay it is
# printed. The stable toolchain builds the targets with RUSTC_BOOTSTRAP=1
# (cargo-fuzz passes -Z flags to rustc); no nightly is needed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
sanitizer=${FUZZ_SANITIZER:-none}
target_dir="$root/target/fuzz"
export RUSTC_BOOTSTRAP=1

# crate:target pairs, in the order they run.
all_targets=(
    kalive-wire:decode
    kalive-vrrp:engine
    kalive-config:config_text
    kalive-config:config_files
    kalive-control:control_lines
    kalive-check:check_engine
    kalive-lb:lb_state
)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

selected=()
if [ "$#" -eq 0 ]; then
    selected=("${all_targets[@]}")
else
    for want in "$@"; do
        found=
        for pair in "${all_targets[@]}"; do
            if [ "${pair#*:}" = "$want" ]; then
                selected+=("$pair")
                found=1
            fi
        done
        [ -n "$found" ] || { echo "unknown fuzz target $want" >&2; exit 2; }
    done
fi

build_flags=(--sanitizer "$sanitizer" --target-dir "$target_dir")

# Build first (one crate at a time; the shared target dir compiles the
# common dependencies once), so that the timed runs below are only runs.
built=()
for pair in "${selected[@]}"; do
    crate=${pair%%:*}
    case " ${built[*]-} " in *" $crate "*) continue ;; esac
    echo "== building fuzz targets of $crate"
    start=$(date +%s)
    (cd "$root/crates/$crate" && cargo fuzz build "${build_flags[@]}")
    echo "   built in $(($(date +%s) - start)) s"
    built+=("$crate")
done

summary=()
failed=()
for pair in "${selected[@]}"; do
    crate=${pair%%:*}
    target=${pair#*:}
    dir="$root/crates/$crate/fuzz"
    corpus="$dir/corpus/$target"
    artifacts="$dir/artifacts/$target"
    log="$target_dir/$target.log"
    mkdir -p "$corpus" "$artifacts"
    echo "== fuzzing $target for ${seconds} s (corpus $corpus, seeds $dir/seeds/$target)"
    rc=0
    # -timeout: one input over this is a hang. load_config runs with the
    # daemon's limits (4 M lines): a self-referencing macro takes ~15 s
    # (instrumented) to reach them, which is slow, not hung.
    case "$target" in
        config_files) timeout=60 ;;
        *) timeout=25 ;;
    esac
    # -rss_limit_mb: the memory bound.
    (cd "$root/crates/$crate" && cargo fuzz run "${build_flags[@]}" "$target" \
        "$corpus" "$dir/seeds/$target" -- \
        -max_total_time="$seconds" -timeout="$timeout" -rss_limit_mb=2048 \
        -print_final_stats=1 -seed="${FUZZ_SEED:-0}" -artifact_prefix="$artifacts/" </dev/null) >"$log" 2>&1 || rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    line="$(printf '%-14s %10s execs %7s/s  %s  corpus %s files' \
        "$target" "$execs" "$rate" "${cov:-cov: ?}" "$(find "$corpus" -type f | wc -l)")"
    if [ "$rc" -ne 0 ]; then
        line="$line  CRASH (exit $rc)"
        failed+=("$target")
        echo "---- $target failed; the end of its log ($log):"
        tail -n 40 "$log"
        saved=
        for a in "$artifacts"/*; do
            [ -e "$a" ] || continue
            saved=1
            echo "   replay: (cd crates/$crate && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer --target-dir ../../target/fuzz $target $a)"
        done
        if [ -z "$saved" ]; then
            # Without a sanitizer a stack overflow kills libFuzzer before
            # it can save the input; the address sanitizer reports it.
            echo "   no input saved: rerun with FUZZ_SANITIZER=address scripts/fuzz-ci.sh $target"
        fi
    fi
    echo "   $line"
    summary+=("$line")
done

echo "== fuzz summary (${seconds} s per target)"
printf '   %s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "fuzz targets that crashed: ${failed[*]}" >&2
    exit 1
fi
