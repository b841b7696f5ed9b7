#!/usr/bin/env bash
# The 25M workload end to end, on one machine: synthetic data at the ML-25M shape ->
# streaming load -> MF (K=64, plain SGD, 10 epochs) on a random 90/10 split -> top-10 for
# every user. Prints each stage's time and peak RSS, and the MF test RMSE beside the
# synthetic data's noise floor (the best any model can do).
#
# Usage: scripts/scale-25m.sh [DIR]        (default DIR: /work/scale-data; about 1 GB written)
# Env: EMBEDREC (binary, default target/release/embedrec), THREADS (default 2),
#      RATINGS / USERS / ITEMS (default 25000000 / 162000 / 59000: the ML-25M shape).
# Peak RSS comes from GNU time (`/usr/bin/time`) when present.
set -euo pipefail
bin=${EMBEDREC:-target/release/embedrec}
dir=${1:-/work/scale-data}
threads=${THREADS:-2}
ratings=${RATINGS:-25000000}
users=${USERS:-162000}
items=${ITEMS:-59000}
mkdir -p "$dir"
data="$dir/syn-$ratings"
model="$dir/mf64-$ratings.emb"
recs="$dir/top10-$ratings.csv"

# run NAME CMD...: runs CMD, keeps its stdout in $dir/NAME.out, prints wall time and peak RSS.
run() {
  local name=$1
  shift
  local start end
  start=$(date +%s.%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%M' -o "$dir/$name.rss" "$@" >"$dir/$name.out"
  else
    "$@" >"$dir/$name.out"
    echo unknown >"$dir/$name.rss"
  fi
  end=$(date +%s.%N)
  local rss
  rss=$(tail -n 1 "$dir/$name.rss")
  [ "$rss" != unknown ] && rss="$((rss / 1024)) MiB"
  printf '%-10s %8.1f s   peak RSS %s\n' "$name" "$(echo "$end - $start" | bc)" "$rss"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
run synth "$bin" data synth --format csv --out "$data/" \
  --users "$users" --items "$items" --ratings "$ratings"
floor=$(sed -n 's/.*noise floor RMSE \([0-9.]*\).*/\1/p' "$dir/synth.out")
run load "$bin" bench read "$data/ratings.csv" --runs 0 --drop-times
sed -n 's/^first run/  load: first run/p' "$dir/load.out"
run train "$bin" train --model mf --dim 64 --epochs 10 --threads "$threads" \
  --data "$data/ratings.csv" --split random:0.1 --out "$model" --json
json=$(tail -n 1 "$dir/train.out")
field() { echo "$json" | sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
train_s=$(field train_seconds)
test_rmse=$(field test_rmse)
run top10 "$bin" recommend --model "$model" --all-users --out "$recs" --threads "$threads"
sed -n 's/^wrote/  top10: wrote/p' "$dir/top10.out"
printf 'MF K=64, 10 epochs on 90%% of %s ratings: %.1f s of SGD (%s threads)\n' \
  "$ratings" "$train_s" "$threads"
printf 'test RMSE %.4f   noise floor %s\n' "$test_rmse" "$floor"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
