#!/usr/bin/env bash
# Runs Listing 1-3 (release mode) and its Python twin on this machine and
# writes both outputs, stamped with the machine, to src/measured/no-gil.md,
# which the "No GIL" chapter includes. Run from anywhere:
#   bash listings/ch01-threads/01-03-no-gil/measure.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=../../measure-common.sh
source "$root/listings/measure-common.sh"
out="$root/src/measured/no-gil.md"
mkdir -p "$(dirname "$out")"

cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p ch01-03-no-gil
rust_output=$("$root/target/release/ch01-03-no-gil")
python_output=$(python3 "$here/no_gil.py")

{
  echo "$(machine_stamp);"
  echo "$(rustc --version | cut -d' ' -f1-2) (release build), $(python3 --version)."
  echo
  echo '```text'
  echo '$ cargo run --release -p ch01-03-no-gil'
  echo "$rust_output"
  echo
  echo '$ python3 no_gil.py'
  echo "$python_output"
  echo '```'
} > "$out"
echo "wrote $out"
