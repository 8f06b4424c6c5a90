#!/usr/bin/env bash
# Run every cargo-fuzz target of fuzz/ for a bounded time and print what each did.
#
#   scripts/fuzz.sh                         # each target 60 s
#   FUZZ_SECONDS=600 scripts/fuzz.sh        # each target 10 min
#   scripts/fuzz.sh frame_decoder           # only the named target(s)
#   FUZZ_TOOLCHAIN=stable scripts/fuzz.sh   # a given toolchain (with RUSTC_BOOTSTRAP=1)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a toolchain that accepts -Z flags:
# nightly when rustup has one, else the stable toolchain with RUSTC_BOOTSTRAP=1 (see
# fuzz/README.md). Not part of `npm test` or CI. Exits non-zero when a target finds a crash;
# the reproducer is then in fuzz/artifacts/<target>/.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz"

seconds="${FUZZ_SECONDS:-60}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(frame_decoder ack_parser message_checks)

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
  exit 2
fi
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
  # e.g. FUZZ_TOOLCHAIN=stable: any toolchain, its -Z flags unlocked by RUSTC_BOOTSTRAP.
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo "+$FUZZ_TOOLCHAIN" fuzz)
  echo "toolchain: $(rustup run "$FUZZ_TOOLCHAIN" rustc --version) with RUSTC_BOOTSTRAP=1"
elif rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  cargo=(cargo +nightly fuzz)
  echo "toolchain: nightly ($(rustup run nightly rustc --version))"
else
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo fuzz)
  echo "toolchain: $(rustc --version) with RUSTC_BOOTSTRAP=1 (no nightly installed)"
fi


./seed.sh
failed=0
summary=()
for target in "${targets[@]}"; do
  log="$root/fuzz/target/fuzz-$target.log"
  mkdir -p "$(dirname "$log")"
  echo "=== $target: ${seconds} s"
  # -timeout: one input taking over 10 s is a finding too (a hang); -rss_limit_mb guards
  # against unbounded buffering.
  "${cargo[@]}" run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
  status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
  if [ $status -eq 0 ]; then
    line="$target: ${seconds} s, ${runs:-?} executions (${rate:-?}/s), $cov, no crash"
  else
    failed=1
    line="$target: FAILED (exit $status) after ${runs:-?} executions; see $log and fuzz/artifacts/$target/"
    grep -E 'panicked|ERROR|Test unit written' "$log" | head -5
  fi
  echo "$line"
  summary+=("$line")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
exit $failed
