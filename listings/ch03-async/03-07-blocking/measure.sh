#!/usr/bin/env bash
# Runs Listing 3-7 (release mode) and its Python twin five times each with a
# 1,000 ms hog, and writes the median of each figure over the five runs,
# stamped with the machine, to src/measured/blocking.md, which "CPU-bound
# work blocks the loop" includes. Run it on a quiet machine, from anywhere:
#   bash listings/ch03-async/03-07-blocking/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/blocking.md"
mkdir -p "$(dirname "$out")"
hog_ms=1000
runs=5

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch03-07-blocking
rust_results=""
for _ in $(seq $runs); do
  rust_results+=$("$root/target/release/ch03-07-blocking" "$hog_ms" | lateness_fields)$'\n'
done

python_results=""
if command -v python3 >/dev/null; then
  for _ in $(seq $runs); do
    python_results+=$(python3 "$here/blocking.py" "$hog_ms" | lateness_fields)$'\n'
  done
  python_version=$(python3 --version)
fi

{
  echo "$(machine_stamp);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build)${python_version:+, $python_version}."
  echo "1,000 tasks sleep 100 ms while a hog computes for $hog_ms ms. Each figure is"
  echo "the median over $runs runs of \`cargo run --release -p ch03-07-blocking -- $hog_ms\`${python_version:+ and of \`python3 blocking.py $hog_ms\`}."
  echo
  echo "| where the hog runs | median lateness | worst lateness |"
  echo "|---|--:|--:|"
  lateness_rows "${rust_results%$'\n'}" "tokio "
  if [ -n "$python_results" ]; then
    lateness_rows "${python_results%$'\n'}" ""
  fi
} > "$out"
echo "wrote $out"
