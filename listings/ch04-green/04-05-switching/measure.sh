#!/usr/bin/env bash
# Runs Listing 4-5 (release mode) and its gevent twin five times each with a
# 1,000 ms hog, and writes the median of each figure over the five runs,
# stamped with the machine, to src/measured/switching.md, which "Switching
# without monkey patching" includes. Run it on a quiet machine, from anywhere:
#   bash listings/ch04-green/04-05-switching/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/switching.md"
mkdir -p "$(dirname "$out")"
hog_ms=1000
runs=5

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch04-05-switching
rust_results=""
for _ in $(seq $runs); do
  rust_results+=$("$root/target/release/ch04-05-switching" "$hog_ms" | lateness_fields)$'\n'
done

python_results=""
if command -v python3 >/dev/null && python3 -c 'import gevent' 2>/dev/null; then
  for _ in $(seq $runs); do
    python_results+=$(python3 "$here/switching.py" "$hog_ms" | lateness_fields)$'\n'
  done
  python_version="$(python3 --version), gevent $(python3 -c 'import gevent; print(gevent.__version__)')"
else
  echo "gevent is not installed (pip install gevent): skipping the Python rows" >&2
fi

{
  echo "$(machine_stamp);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build), may 0.3.51${python_version:+, $python_version}."
  echo "100 coroutines sleep 50 ms on one worker while a hog works for $hog_ms ms. Each"
  echo "figure is the median over $runs runs of \`cargo run --release -p ch04-05-switching -- $hog_ms\`${python_version:+ and of \`python3 switching.py $hog_ms\`}."
  echo
  echo "| what the hog does | median lateness | worst lateness |"
  echo "|---|--:|--:|"
  lateness_rows "${rust_results%$'\n'}" "may, "
  if [ -n "$python_results" ]; then
    lateness_rows "${python_results%$'\n'}" ""
  fi
} > "$out"
echo "wrote $out"
