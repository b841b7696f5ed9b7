#!/usr/bin/env bash
# Test RMSE of every rating kind's defaults on ML-100K u1 and on data unlike it, beside the
# bias baseline: the robustness table of docs/tuning.md.
#   wide       `data synth --users 610 --items 9724 --ratings 100836 --scale 0.5:5` (the shape
#              of MovieLens latest-small: half stars, a catalog 16x its users, long tail),
#              split random:0.2 (seed 42)
#   users20    u1.base/u1.test restricted to a random 20% of the users (scripts/subsample.py)
#   rare50     u1.base/u1.test restricted to the items with at most 50 ratings in u.data
# Usage: scripts/robustness.sh [KIND...]   (default: baseline mf deep neumf knn autorec blend fm)
# Env: EMBEDREC (binary, default target/release/embedrec), DATA (default ../shared/data/ml-100k),
#      WORK (scratch folder, default a new temp folder), EXTRA (flags added to every train).
set -euo pipefail
bin=${EMBEDREC:-target/release/embedrec}
data=${DATA:-../shared/data/ml-100k}
work=${WORK:-$(mktemp -d)}
here=$(dirname "$0")
kinds=("$@")
[ ${#kinds[@]} -eq 0 ] && kinds=(baseline mf deep neumf knn autorec blend fm)
mkdir -p "$work"
"$bin" data synth --out "$work/wide" --users 610 --items 9724 --ratings 100836 --scale 0.5:5 >/dev/null
python3 "$here/subsample.py" --data "$data" --fold u1 --out "$work/users20" --users 0.2 >/dev/null
python3 "$here/subsample.py" --data "$data" --fold u1 --out "$work/rare50" --max-item-ratings 50 >/dev/null
rmse() { # KIND ARGS...: the test RMSE
  local kind=$1; shift
  # shellcheck disable=SC2086
  "$bin" train --model "$kind" "$@" ${EXTRA:-} --json 2>/dev/null | tail -n 1 |
    python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["test_rmse"])'
}
printf '%-10s %-10s %-10s %-10s %-10s\n' kind ml100k-u1 wide users20 rare50
for kind in "${kinds[@]}"; do
  printf '%-10s %-10s %-10s %-10s %-10s\n' "$kind" \
    "$(rmse "$kind" --train "$data/u1.base" --test "$data/u1.test")" \
    "$(rmse "$kind" --data "$work/wide/u.data" --split random:0.2)" \
    "$(rmse "$kind" --train "$work/users20/u1.base" --test "$work/users20/u1.test")" \
    "$(rmse "$kind" --train "$work/rare50/u1.base" --test "$work/rare50/u1.test")"
done
