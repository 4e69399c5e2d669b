#!/usr/bin/env bash
# Runs Listing 4-7 (release mode) five times with 20,000 parked coroutines,
# well under the vm.max_map_count ceiling, and writes the median of each
# figure, stamped with the machine, to src/measured/may-limits.md, which
# "Configuration and limits" includes. Run it on a quiet machine:
#   bash listings/ch04-green/04-07-limits/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/may-limits.md"
mkdir -p "$(dirname "$out")"
coroutines=20000
runs=5

# The number matched by the sed expression $1 in every run's output ($2,
# the Rust runs' by default).
figure() {
  sed -nE "$1" <<<"${2:-$results}" | median
}

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch04-07-limits
results=""
for _ in $(seq $runs); do
  results+=$("$root/target/release/ch04-07-limits" "$coroutines")$'\n'
done

python_results=""
if command -v python3 >/dev/null && python3 -c 'import gevent' 2>/dev/null; then
  for _ in $(seq $runs); do
    python_results+=$(python3 "$here/limits.py" "$coroutines")$'\n'
  done
  python_version="$(python3 --version), gevent $(python3 -c 'import gevent; print(gevent.__version__)')"
else
  echo "gevent is not installed (pip install gevent): skipping the Python rows" >&2
fi

{
  echo "$(machine_stamp),"
  echo "vm.max_map_count $(cat /proc/sys/vm/max_map_count); $(rustc --version | cut -d' ' -f1-2) (release build), may 0.3.51${python_version:+, $python_version}."
  echo "Medians over $runs runs of \`cargo run --release -p ch04-07-limits -- $coroutines\`${python_version:+ and of \`python3 limits.py $coroutines\`}"
  echo "(default configuration: stacks of 4,096 words, a pool of 1,000 coroutines)."
  echo
  echo "| figure | median |"
  echo "|---|--:|"
  echo "| starting may: extra memory mappings | $(figure 's/^starting may: \+([0-9]+) mappings.*/\1/p') |"
  echo "| starting may: extra RSS | $(figure 's/^starting may: .*\+([0-9]+) MiB RSS$/\1/p') MiB |"
  echo "| may: spawn, until running and parked | $(figure 's/^spawn: ([0-9.]+) µs per coroutine$/\1/p') µs per coroutine |"
  echo "| may: RSS beyond the pool | $(figure 's/^beyond the pool: ([0-9.]+) KiB RSS per coroutine$/\1/p') KiB per coroutine |"
  echo "| may: memory mappings beyond the pool | $(figure 's/^beyond the pool: ([0-9.]+) mappings per coroutine$/\1/p') per coroutine |"
  if [ -n "$python_results" ]; then
    echo "| gevent: spawn, until running and parked | $(figure 's/^spawn: ([0-9.]+) µs per greenlet$/\1/p' "$python_results") µs per greenlet |"
    echo "| gevent: RSS | $(figure 's/^memory: ([0-9.]+) KiB RSS per greenlet$/\1/p' "$python_results") KiB per greenlet |"
  fi
} > "$out"
echo "wrote $out"
