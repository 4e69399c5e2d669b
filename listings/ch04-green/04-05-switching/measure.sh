#!/usr/bin/env bash
# Runs Listing 4-5 (release mode) and its gevent twin five times each with a
# 1,000 ms hog, and writes the median of each figure over the five runs,
# stamped with the machine, to src/measured/switching.md, which "Switching
# without monkey patching" includes. Run it on a quiet machine, from anywhere:
#   bash listings/ch04-green/04-05-switching/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/src/measured/switching.md"
mkdir -p "$(dirname "$out")"
hog_ms=1000
runs=5

# The median of the numbers on standard input, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Turns result lines ("<label>  100 woke, median 1.2 ms late, max 3.4 ms
# late") into "label|median|max".
fields() {
  sed -nE 's/^(.*[^ ]) +[0-9]+ woke, median +([0-9.]+) ms late, max +([0-9.]+) ms late$/\1|\2|\3/p'
}

# One table row per label, in the order the program prints them, with the
# median over all runs of the median and of the maximum lateness.
rows() {
  local results=$1 prefix=$2 label
  cut -d'|' -f1 <<<"$results" | awk '!seen[$0]++' | while IFS= read -r label; do
    local mine
    mine=$(grep -F "$label|" <<<"$results")
    echo "| $prefix$label | $(cut -d'|' -f2 <<<"$mine" | median) ms | $(cut -d'|' -f3 <<<"$mine" | median) ms |"
  done
}

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch04-05-switching
rust_results=""
for _ in $(seq $runs); do
  rust_results+=$("$root/target/release/ch04-05-switching" "$hog_ms" | fields)$'\n'
done

python_results=""
if command -v python3 >/dev/null && python3 -c 'import gevent' 2>/dev/null; then
  for _ in $(seq $runs); do
    python_results+=$(python3 "$here/switching.py" "$hog_ms" | fields)$'\n'
  done
  python_version="$(python3 --version), gevent $(python3 -c 'import gevent; print(gevent.__version__)')"
else
  echo "gevent is not installed (pip install gevent): skipping the Python rows" >&2
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "Measured on $(date -u +%Y-%m-%d): ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build), may 0.3.51${python_version:+, $python_version}."
  echo "100 coroutines sleep 50 ms on one worker while a hog works for $hog_ms ms. Each"
  echo "figure is the median over $runs runs of \`cargo run --release -p ch04-05-switching -- $hog_ms\`${python_version:+ and of \`python3 switching.py $hog_ms\`}."
  echo
  echo "| what the hog does | median lateness | worst lateness |"
  echo "|---|--:|--:|"
  rows "${rust_results%$'\n'}" "may, "
  if [ -n "$python_results" ]; then
    rows "${python_results%$'\n'}" ""
  fi
} > "$out"
echo "wrote $out"
