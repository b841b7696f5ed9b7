#!/usr/bin/env bash
# How fm's defaults were chosen: validation RMSE on a seeded 10% carve of ML-100K's
# u1.base (the u1 test set is never read). Usage: scripts/fm-tune.sh [BINARY]
set -euo pipefail
BIN=${1:-target/release/embedrec}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
run() {
  local out
  out=$("$BIN" train --model fm --data "$D/u1.base" --split random:0.1 --seed 42 "$@" --json 2>/dev/null | tail -1)
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.4f  %6.1f s " % (d["test_rmse"], d["train_seconds"]), *sys.argv[2:])' "$out" "$@"
}
echo "validation RMSE, fit seconds, flags"
for f in "" rated "rated,raters" "side" "rated,raters,side"; do
  run --features "$f" --sweeps 200 --burn-in 50
done
for k in 16 32 64; do
  run --dim $k --sweeps 200 --burn-in 50
done
for s in "400 100" "800 100"; do
  set -- $s
  run --sweeps "$1" --burn-in "$2"
done
