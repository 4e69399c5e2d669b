# Helpers shared by the listings' measure.sh scripts; source it, don't run it.

# The median of the numbers on standard input, one a line.
median() {
  sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# "Measured on <date>: <CPU>, <N> cores, <OS>" for the stamp of a measured file.
machine_stamp() {
  local cpu
  cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
  echo "Measured on $(date -u +%Y-%m-%d): ${cpu:-unknown CPU}, $(nproc) cores, $(uname -sr)"
}

# Turns lateness lines ("<label>  100 woke, median 1.2 ms late, max 3.4 ms
# late") into "label|median|max".
lateness_fields() {
  sed -nE 's/^(.*[^ ]) +[0-9]+ woke, median +([0-9.]+) ms late, max +([0-9.]+) ms late$/\1|\2|\3/p'
}

# One table row per label of lateness_fields output ($1), in the order the
# program printed them, with the median over all runs of the median and of
# the maximum lateness; $2 is put before each label.
lateness_rows() {
  local results=$1 prefix=$2 label
  cut -d'|' -f1 <<<"$results" | awk '!seen[$0]++' | while IFS= read -r label; do
    local mine
    mine=$(grep -F "$label|" <<<"$results")
    echo "| $prefix$label | $(cut -d'|' -f2 <<<"$mine" | median) ms | $(cut -d'|' -f3 <<<"$mine" | median) ms |"
  done
}
