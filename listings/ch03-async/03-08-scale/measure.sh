#!/usr/bin/env bash
# Runs Listing 3-8 (release mode) with 100,000 tasks of 1 s, five times as
# spawned tasks and five times as futures in one task (join_all), and its
# Python twin five times, and writes the median of each figure, stamped with
# the machine, to src/measured/scale.md, which "100,000 tasks" includes.
# Run it on a quiet machine, from anywhere:
#   bash listings/ch03-async/03-08-scale/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/scale.md"
mkdir -p "$(dirname "$out")"
tasks=100000
nap_ms=1000
runs=5

# Runs a command $runs times and prints one table row: the medians of the
# time spent spawning (if the program spawns), the wall time, the peak memory
# and the memory per task.
row() {
  local label=$1 output spawns="" walls="" peaks="" per_task=""
  shift
  for _ in $(seq $runs); do
    output=$("$@")
    spawns+=$(sed -nE 's/^spawned in ([0-9.]+) s$/\1/p' <<<"$output")$'\n'
    walls+=$(sed -nE 's/^all [0-9]+ woke after ([0-9.]+) s$/\1/p' <<<"$output")$'\n'
    peaks+=$(sed -nE 's/^peak memory ([0-9.]+) MiB.*/\1/p' <<<"$output")$'\n'
    per_task+=$(sed -nE 's/.* ([0-9.]+) KiB per task.*/\1/p' <<<"$output")$'\n'
  done
  local spawned="—"
  if [ -n "${spawns//$'\n'/}" ]; then
    spawned="$(median <<<"${spawns%$'\n'}") s"
  fi
  echo "| $label | $spawned | $(median <<<"${walls%$'\n'}") s | $(median <<<"${peaks%$'\n'}") MiB | $(median <<<"${per_task%$'\n'}") KiB |"
}

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch03-08-scale
scale="$root/target/release/ch03-08-scale"
future_size=$("$scale" 1 0 | sed -nE 's/.*future: ([0-9]+) bytes$/\1/p')
rust_spawn=$(row "tokio, \`tokio::spawn\` (multi-thread runtime)" "$scale" "$tasks" "$nap_ms" spawn)
rust_join=$(row "tokio, \`join_all\` in one task" "$scale" "$tasks" "$nap_ms" join_all)
if command -v python3 >/dev/null; then
  python_row=$(row "asyncio, \`asyncio.gather\`" python3 "$here/scale.py" "$tasks" "$nap_ms")
  python_version=$(python3 --version)
fi

{
  echo "$(machine_stamp);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build)${python_version:+, $python_version}."
  echo "$tasks tasks each sleep $nap_ms ms. Each figure is the median over $runs runs of"
  echo "\`cargo run --release -p ch03-08-scale -- $tasks $nap_ms spawn\` (or \`join_all\`)${python_version:+ and of \`python3 scale.py $tasks $nap_ms\`}."
  echo "One task's future (\`nap_for\`) is $future_size bytes."
  echo
  echo "| variant | spawning | wall time | peak memory | memory per task |"
  echo "|---|--:|--:|--:|--:|"
  echo "$rust_spawn"
  echo "$rust_join"
  if [ -n "${python_row:-}" ]; then
    echo "$python_row"
  fi
} > "$out"
echo "wrote $out"
