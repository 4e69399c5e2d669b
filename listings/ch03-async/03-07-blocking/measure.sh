#!/usr/bin/env bash
# Runs Listing 3-7 (release mode) and its Python twin five times each with a
# 1,000 ms hog, and writes the median of each figure over the five runs,
# stamped with the machine, to src/measured/blocking.md, which "CPU-bound
# work blocks the loop" includes. Run it on a quiet machine, from anywhere:
#   bash listings/ch03-async/03-07-blocking/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$root/src/measured/blocking.md"
mkdir -p "$(dirname "$out")"
hog_ms=1000
runs=5

# The median of the numbers on standard input, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Turns result lines ("<label>  1000 woke, median 1.2 ms late, max 3.4 ms
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

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch03-07-blocking
rust_results=""
for _ in $(seq $runs); do
  rust_results+=$("$root/target/release/ch03-07-blocking" "$hog_ms" | fields)$'\n'
done

python_results=""
if command -v python3 >/dev/null; then
  for _ in $(seq $runs); do
    python_results+=$(python3 "$here/blocking.py" "$hog_ms" | fields)$'\n'
  done
  python_version=$(python3 --version)
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "Measured on $(date -u +%Y-%m-%d): ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build)${python_version:+, $python_version}."
  echo "1,000 tasks sleep 100 ms while a hog computes for $hog_ms ms. Each figure is"
  echo "the median over $runs runs of \`cargo run --release -p ch03-07-blocking -- $hog_ms\`${python_version:+ and of \`python3 blocking.py $hog_ms\`}."
  echo
  echo "| where the hog runs | median lateness | worst lateness |"
  echo "|---|--:|--:|"
  rows "${rust_results%$'\n'}" "tokio "
  if [ -n "$python_results" ]; then
    rows "${python_results%$'\n'}" ""
  fi
} > "$out"
echo "wrote $out"
