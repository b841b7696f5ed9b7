#!/usr/bin/env bash
# Same-run timing comparison of two embedrec binaries on ML-100K u1, runs alternated so
# that a noisy machine affects both alike:
#   1. `bench train --rounds 1`, three rounds each (every MF setting);
#   2. `train --model mf` (book-mf preset, then the defaults), five runs each,
#      `train_seconds` and test RMSE from --json.
# Usage: benchmarks/compare-binaries.sh OLD_BINARY NEW_BINARY [ML100K_DIR]
set -euo pipefail
old=$1
new=$2
dir=${3:-${EMBEDREC_DATA:-../shared/data}/ml-100k}
for r in 1 2 3; do
  for name in old new; do
    bin=$old; [ "$name" = new ] && bin=$new
    "$bin" bench train --data "$dir/u1.base" --rounds 1 2>/dev/null | sed "s/^/$name round $r: /"
  done
done
for r in 1 2 3 4 5; do
  for name in old new; do
    bin=$old; [ "$name" = new ] && bin=$new
    for preset in book-mf defaults; do
      flags=(); [ "$preset" = book-mf ] && flags=(--preset book-mf)
      "$bin" train --model mf "${flags[@]}" --train "$dir/u1.base" --test "$dir/u1.test" --json \
        | tail -1 \
        | python3 -c "import json,sys; d=json.load(sys.stdin); print('$name mf $preset run $r: train_seconds %.3f test_rmse %.4f' % (d['train_seconds'], d['test_rmse']))"
    done
  done
done
uptime
