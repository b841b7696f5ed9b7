#!/usr/bin/env bash
# deep-sides.sh — test RMSE of `embedrec train --model deep` (its defaults) on the five
# published ML-100K folds u1..u5, without and with side variables, over several seeds:
# the acceptance check "side variables must not make it worse (mean over 3 seeds,
# tolerance 0.002) on u1 and on the 5-fold mean". Hyper-parameters are NOT chosen here
# (they were chosen on validation data carved from u1.base; see DeepParams docs).
#
# Usage: scripts/deep-sides.sh [extra train flags...]
# Env: EMBEDREC (binary, default target/release/embedrec), DATA (default
#      ../shared/data/ml-100k), SEEDS (default "1 2 3"), FOLDS (default "1 2 3 4 5"),
#      FEATURES (default occupation:3,genres:8,age:2,gender:2).
set -euo pipefail
bin=${EMBEDREC:-target/release/embedrec}
data=${DATA:-../shared/data/ml-100k}
SEEDS=${SEEDS:-"1 2 3"}
FOLDS=${FOLDS:-"1 2 3 4 5"}
FEATURES=${FEATURES:-occupation:3,genres:8,age:2,gender:2}
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
printf '%-6s %4s %4s %9s\n' variant fold seed test_rmse
for fold in $FOLDS; do
  for seed in $SEEDS; do
    for variant in plain sides; do
      extra=()
      [ "$variant" = sides ] && extra=(--features "$FEATURES")
      rmse=$("$bin" train --model deep --train "$data/u$fold.base" --test "$data/u$fold.test" \
               --seed "$seed" --json "${extra[@]}" "$@" | tail -n 1 |
             python3 -c 'import json,sys; print(json.load(sys.stdin)["test_rmse"])')
      printf '%-6s %4s %4s %9.4f\n' "$variant" "$fold" "$seed" "$rmse"
      printf '%s\t%s\t%s\t%s\n' "$variant" "$fold" "$seed" "$rmse" >> "$TMP"
    done
  done
done
echo
python3 - "$TMP" <<'PY'
import sys, collections
rows = [l.split('\t') for l in open(sys.argv[1]).read().split('\n') if l]
by = collections.defaultdict(list)
for v, f, s, r in rows:
    by[(v, f)].append(float(r))
folds = sorted({f for _, f, _, _ in rows})
print('mean over seeds   ' + '  '.join('u%s    ' % f for f in folds) + '  5-fold mean')
for v in ('plain', 'sides'):
    means = [sum(by[(v, f)]) / len(by[(v, f)]) for f in folds]
    print('%-16s  ' % v + '  '.join('%.4f' % m for m in means) + '  %.4f' % (sum(means) / len(means)))
PY
