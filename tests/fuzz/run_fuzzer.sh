#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time, without writing into the source tree: the corpus
# is a temp copy of tests/fuzz/corpus/NAME, crash artifacts go to a temp dir too (kept and named
# on failure). Exits 0 only if the fuzzer ran to its time limit with no crash, leak, timeout or
# sanitizer report.
#
# usage: run_fuzzer.sh FUZZ_BINARY NAME SECONDS   (NAME: config, enrolment, response,
#        session_table;
#        SECONDS 0: only replay the seeds)
set -euo pipefail

binary=$1
name=$2
seconds=$3
here=$(cd "$(dirname "$0")" && pwd)
seeds=$here/corpus/$name
dict=$here/$name.dict

work=$(mktemp -d "${TMPDIR:-/tmp}/verif8-fuzz-$name.XXXXXX")
keep=""
cleanup() {
  if [ -z "$keep" ]; then
    rm -rf "$work"
  fi
}
trap cleanup EXIT
mkdir -p "$work/corpus" "$work/artifacts"
cp "$seeds"/* "$work/corpus/"

# halt_on_error: a UBSan report is a crash, not a warning. The symbolizer names the frames.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:symbolize=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer)
  export ASAN_SYMBOLIZER_PATH
fi

args=(-rss_limit_mb=2048 -timeout=10 -max_len=65536 -artifact_prefix="$work/artifacts/"
      -print_final_stats=1)
if [ -f "$dict" ]; then
  args+=(-dict="$dict")
fi
status=0
if [ "$seconds" = 0 ]; then
  "$binary" "${args[@]}" -runs=0 "$work/corpus" || status=$?
else
  "$binary" "${args[@]}" -max_total_time="$seconds" "$work/corpus" || status=$?
fi
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
  keep=1
  echo "fuzz_$name: FAILED (exit $status); artifacts in $work/artifacts:" >&2
  ls -l "$work/artifacts" >&2
  exit 1
fi
echo "fuzz_$name: ok ($(find "$work/corpus" -type f | wc -l) inputs in the corpus)"
