#!/usr/bin/env bash
# Runs Listing 2-3 (release mode) five times and its Python twin three times
# on this machine, and writes the results, stamped with the machine, to
# src/measured/process-pool.md, which "A real process pool" includes. Of each
# program, the run shown is the median one by the process pool's speedup, so
# that one disturbed run neither flatters nor spoils the figures. Run from
# anywhere:
#   bash listings/ch02-processes/02-03-primes-on-processes/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/process-pool.md"
mkdir -p "$(dirname "$out")"

# Prints the number (0-based) of the run, among those given, whose
# "2 processes" line shows the median speedup.
median_run() {
  local i=0 run
  for run in "$@"; do
    echo "$(grep -m1 '^2 processes' <<<"$run" | grep -o '[0-9.]*x$' | tr -d x) $i"
    i=$((i + 1))
  done | sort -n | sed -n "$(( ($# + 1) / 2 ))p" | cut -d' ' -f2
}
# The "2 processes" speedups of the runs given, as "1.85x, 1.90x, …".
speedups() {
  local run
  for run in "$@"; do
    grep -m1 '^2 processes' <<<"$run" | grep -o '[0-9.]*x$'
  done | paste -sd, | sed 's/,/, /g'
}

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch02-03-primes-on-processes
rust_runs=()
for _ in 1 2 3 4 5; do
  rust_runs+=("$("$root/target/release/ch02-03-primes-on-processes")")
done
rust_output=${rust_runs[$(median_run "${rust_runs[@]}")]}

# Python's serial count takes 15 s or more, so three runs, not five.
python_runs=()
if command -v python3 >/dev/null; then
  for _ in 1 2 3; do
    python_runs+=("$(python3 "$here/primes_pool.py")")
  done
  python_output=${python_runs[$(median_run "${python_runs[@]}")]}
  python_version="$(python3 --version), start method $(python3 -c 'import multiprocessing; print(multiprocessing.get_start_method())')"
fi

{
  echo "$(machine_stamp);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build)${python_version:+, $python_version}."
  echo "The process pool's speedup in five runs of the Rust program:"
  echo "$(speedups "${rust_runs[@]}")${python_version:+; in three runs of the Python program: $(speedups "${python_runs[@]}")}."
  echo "Each program's median run (by that speedup) is shown."
  echo
  echo '```text'
  echo '$ cargo run --release -p ch02-03-primes-on-processes'
  echo "$rust_output"
  if [ -n "${python_output:-}" ]; then
    echo
    echo '$ python3 primes_pool.py'
    echo "$python_output"
  fi
  echo '```'
} > "$out"
echo "wrote $out"
