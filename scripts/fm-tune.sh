#!/usr/bin/env bash
# How fm's defaults were chosen: validation RMSE on a seeded 10% carve of ML-100K's
# u1.base (the u1 test set is never read). Usage: scripts/fm-tune.sh [BINARY]
set -euo pipefail
BIN=${1:-target/release/embedrec}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
run() {
  local out
  out=$("$BIN" train --model fm --data "$D/u1.base" --split random:0.1 --seed "${SEED:-42}" "$@" --json 2>/dev/null | tail -1)
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.4f  %6.1f s " % (d["test_rmse"], d["train_seconds"]), *sys.argv[2:])' "$out" "seed=${SEED:-42}" "$@"
}
echo "validation RMSE, fit seconds, flags"
# The link and the zip prefix: the side variables without and with `zip` (in the order
# the data has them; on ML-100K the first list is what `side` means), each link, on
# three carves (ONLY=link runs this part alone).
NOZIP=rated,raters,occupation,gender,age,genres,year,time
ZIP=rated,raters,occupation,gender,age,zip,genres,year,time
for seed in 42 1 2; do
  for link in gaussian ordered-probit; do
    SEED=$seed run --link $link --features $NOZIP
    SEED=$seed run --link $link --features $ZIP
  done
done
[ "${ONLY:-}" = link ] && exit 0
for f in "" rated "rated,raters" "side" "rated,raters,side" "rated,raters,side,day,item_age" "rated,raters,side,day"; do
  run --features "$f" --sweeps 200 --burn-in 50
done
for k in 16 32 64; do
  run --dim $k --sweeps 200 --burn-in 50
done
for s in "400 100" "800 100"; do
  set -- $s
  run --sweeps "$1" --burn-in "$2"
done
# 512 sweeps on two more carves: the day with and without the item's age, K, kept samples.
for seed in 1 2; do
  for cfg in "--features rated,raters,side,day,item_age" "--features rated,raters,side,day" \
             "--features rated,raters,side,day --dim 16" \
             "--features rated,raters,side,day,item_age --keep 128" \
             "--features rated,raters,side,day,item_age --dim 20"; do
    # shellcheck disable=SC2086
    SEED=$seed run $cfg
  done
done
# ALS: the penalty.
for l2 in 3 10 30 100; do
  run --solver als --l2 $l2 --sweeps 30 --burn-in 0
done
