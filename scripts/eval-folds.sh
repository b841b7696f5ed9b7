#!/usr/bin/env bash
# Test RMSE of `embedrec train` on the five published ML-100K folds u1..u5, and their mean.
# Usage: scripts/eval-folds.sh [train flags...]   e.g. scripts/eval-folds.sh --model mf
# Env: EMBEDREC (binary, default target/release/embedrec), DATA (default ../shared/data/ml-100k).
set -euo pipefail
bin=${EMBEDREC:-target/release/embedrec}
data=${DATA:-../shared/data/ml-100k}
sum=0
for k in 1 2 3 4 5; do
  rmse=$("$bin" train --train "$data/u$k.base" --test "$data/u$k.test" --json "$@" | tail -n 1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["test_rmse"])')
  printf 'u%d  %.4f\n' "$k" "$rmse"
  sum=$(python3 -c "print($sum + $rmse)")
done
python3 -c "print('mean %.4f' % ($sum / 5))"
