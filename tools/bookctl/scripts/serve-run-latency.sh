#!/usr/bin/env bash
# How long a Run button takes under `cargo book serve`: the time from the
# HTTP request to the response for a tokio example (compile + run), measured
# with curl against a running server, warm (its crates already built).
#
#   cargo book serve --port 3000 &        # wait for "Serving the book on …"
#   bash tools/bookctl/scripts/serve-run-latency.sh http://127.0.0.1:3000/ 20
#
# Prints every run's time and the median. Needs curl.
set -euo pipefail

url=${1:-http://127.0.0.1:3000/}
runs=${2:-20}
url=${url%/}

# A small tokio program like the book's: a runtime, two tasks, a join.
body='{"version":"stable","optimize":"0","edition":"2024","code":"use std::time::Duration;\n\n#[tokio::main]\nasync fn main() {\n    let (a, b) = tokio::join!(\n        async { tokio::time::sleep(Duration::from_millis(10)).await; 1 },\n        tokio::spawn(async { 2 }),\n    );\n    println!(\"{}\", a + b.unwrap());\n}\n"}'

answer=$(mktemp)
trap 'rm -f "$answer"' EXIT

run_once() {
    curl --silent --show-error --fail --output "$answer" \
        --write-out '%{time_total}\n' \
        -H 'Content-Type: application/json' -H "Origin: $url" \
        --data "$body" "$url/__bookctl/evaluate.json"
    grep -q '"result":"3\\n"' "$answer" || {
        echo "unexpected answer: $(cat "$answer")" >&2
        exit 1
    }
}

run_once >/dev/null # warm-up: the first run after startup also warms the disk cache
times=()
for i in $(seq "$runs"); do
    times+=("$(run_once)")
    printf 'run %2d: %.3f s\n' "$i" "${times[-1]}"
done
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$runs" '
    { t[NR] = $1 }
    END {
        median = (n % 2) ? t[(n + 1) / 2] : (t[n / 2] + t[n / 2 + 1]) / 2
        printf "median of %d warm runs of a tokio example: %.3f s (min %.3f, max %.3f)\n", n, median, t[1], t[n]
    }'
