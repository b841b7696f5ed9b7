#!/usr/bin/env bash
# How fm's defaults were chosen: validation RMSE on a seeded 10% carve of ML-100K's
# u1.base (the u1 test set is never read). Usage: scripts/fm-tune.sh [BINARY]
# ONLY=chains runs the chains part alone (about 14 minutes on 2 cores), ONLY=link the
# link part at the one-chain settings.
set -euo pipefail
BIN=${1:-target/release/embedrec}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
run() {
  local out
  out=$("$BIN" train --model fm --data "$D/u1.base" --split random:0.1 --seed "${SEED:-42}" "$@" --json 2>/dev/null | tail -1)
  python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.4f  %6.1f s " % (d["test_rmse"], d["train_seconds"]), *sys.argv[2:])' "$out" "seed=${SEED:-42}" "$@"
}
old() { # run at the defaults from before chains (one chain, 512 sweeps, burn-in 100,
        # 64 kept) wherever the arguments leave them
  local pinned=() pair flag val
  for pair in "--chains 1" "--sweeps 512" "--burn-in 100" "--keep 64"; do
    read -r flag val <<< "$pair"
    [[ " $* " == *" $flag "* ]] || pinned+=("$flag" "$val")
  done
  run "${pinned[@]}" "$@"
}
echo "validation RMSE, fit seconds, flags"
NOZIP=rated,raters,occupation,gender,age,genres,year,time
ZIP=rated,raters,occupation,gender,age,zip,genres,year,time
if [ "${ONLY:-}" != link ]; then
  # Chains: C independent chains of S sweeps (burn-in B, keep k per chain), on three carves,
  # two threads (chains at once; the models do not depend on it). ONLY=chains runs this part.
  for seed in 42 1 2; do
    for cfg in "1 512 100 64" "4 128 50 16" "8 64 20 8" "8 94 30 8" "8 114 50 8" \
               "16 64 30 4" "16 82 50 4" "8 178 50 8"; do
      set -- $cfg
      SEED=$seed run --chains "$1" --sweeps "$2" --burn-in "$3" --keep "$4" --threads 2
    done
  done
  # Shorter chains still (the first grid's best were its shortest), and K with them.
  for seed in 42 1 2; do
    for cfg in "8 32 10 8" "16 32 10 4" "8 64 10 8" "16 48 16 4" "16 64 20 4" "32 32 10 2" \
               "8 64 20 8 --dim 16"; do
      set -- $cfg
      SEED=$seed run --chains "$1" --sweeps "$2" --burn-in "$3" --keep "$4" "${@:5}" --threads 2
    done
  done
  # At the chosen chains: the link and the zip prefix again, and the initial factors' spread.
  conf=$(mktemp -d)
  for seed in 42 1 2; do
    for link in gaussian ordered-probit; do
      SEED=$seed run --link $link --features $NOZIP --threads 2
      SEED=$seed run --link $link --features $ZIP --threads 2
    done
    for i in 0.05 0.2 0.4; do
      echo "init_std = $i" > "$conf/init$i.toml"
      SEED=$seed run --config "$conf/init$i.toml" --threads 2
    done
  done
fi
[ "${ONLY:-}" = chains ] && exit 0
# The link and the zip prefix: the side variables without and with `zip` (in the order
# the data has them; on ML-100K the first list is what `side` means), each link, on
# three carves (ONLY=link runs this part alone).
for seed in 42 1 2; do
  for link in gaussian ordered-probit; do
    SEED=$seed old --link $link --features $NOZIP
    SEED=$seed old --link $link --features $ZIP
  done
done
[ "${ONLY:-}" = link ] && exit 0
for f in "" rated "rated,raters" "side" "rated,raters,side" "rated,raters,side,day,item_age" "rated,raters,side,day"; do
  old --features "$f" --sweeps 200 --burn-in 50
done
for k in 16 32 64; do
  old --dim $k --sweeps 200 --burn-in 50
done
for s in "400 100" "800 100"; do
  set -- $s
  old --sweeps "$1" --burn-in "$2"
done
# 512 sweeps on two more carves: the day with and without the item's age, K, kept samples.
for seed in 1 2; do
  for cfg in "--features rated,raters,side,day,item_age" "--features rated,raters,side,day" \
             "--features rated,raters,side,day --dim 16" \
             "--features rated,raters,side,day,item_age --keep 128" \
             "--features rated,raters,side,day,item_age --dim 20"; do
    # shellcheck disable=SC2086
    SEED=$seed old $cfg
  done
done
# ALS: the penalty.
for l2 in 3 10 30 100; do
  old --solver als --l2 $l2 --sweeps 30 --burn-in 0
done
