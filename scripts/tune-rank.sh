#!/bin/sh
# Validation runs behind the implicit-feedback defaults of `deep` and `neumf`
# (docs/tuning.md, "Implicit feedback"):
# each flag set is trained on u1.base less a random 20% carve and scored by the carve's
# NDCG@10 (protocol A, relevant = rating >= 4) after every epoch; u1.test is never read.
# Prints, per flag set, the best epoch and its NDCG@10, and the last epoch's.
# Usage: scripts/tune-rank.sh MODEL "FLAGS" ["FLAGS" ...]
#   e.g. scripts/tune-rank.sh neumf "--epochs 30 --l2 0.1 --lr-decay 0.9"
# With no flag sets, runs the grid whose results docs/tuning.md quotes (the last: the defaults).
set -eu
E=${E:-target/release/embedrec}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
model=${1:?usage: scripts/tune-rank.sh MODEL [FLAGS ...]}
shift
if [ $# -eq 0 ]; then
    # Every flag set names the settings it ran with (the defaults changed after).
    case $model in
    neumf) set -- "--epochs 20 --l2 0.4 --lr-decay 0.8" "--epochs 20 --l2 0.1 --lr-decay 0.8" \
        "--epochs 20 --l2 0.05 --lr-decay 0.8" "--epochs 30 --l2 0.3 --lr-decay 0.9" \
        "--epochs 30 --l2 0.2 --lr-decay 0.9" "--epochs 40 --l2 0.2 --lr-decay 0.95" \
        "--epochs 30 --l2 0.2 --lr-decay 0.9 --dim 64" \
        "--epochs 20 --l2 0.4 --lr-decay 0.8 --negatives 8" \
        "--epochs 20 --l2 0.4 --lr-decay 0.8 --sampling popularity" \
        "--epochs 20 --l2 0.4 --lr-decay 0.8 --loss warp" \
        "--epochs 20 --l2 0.4 --lr-decay 0.8 --loss softmax" \
        "--epochs 30 --l2 0.1 --lr-decay 0.9 --loss softmax" \
        "--epochs 20 --l2 0.4 --lr-decay 0.8 --loss bpr --negatives 4" \
        "" ;;
    deep) set -- "--epochs 20 --lr 0.002 --lr-decay 0.93 --l2 1" \
        "--epochs 20 --lr 0.002 --lr-decay 0.93 --l2 0.1" \
        "--epochs 20 --lr 0.002 --lr-decay 0.93 --l2 0.1 --loss warp" \
        "--epochs 20 --lr 0.002 --lr-decay 0.93 --l2 0.1 --loss softmax" \
        "--epochs 20 --lr 0.002 --lr-decay 0.93 --l2 0.1 --loss bpr --negatives 4" \
        "--epochs 15 --lr 0.002 --lr-decay 0.93 --l2 0.1 --loss softmax --negatives 10" \
        "--epochs 20 --lr 0.005 --lr-decay 0.9 --l2 0.03" \
        "--epochs 30 --lr 0.005 --lr-decay 0.9 --l2 0.1" \
        "--epochs 30 --lr 0.005 --lr-decay 0.9 --l2 0.3" \
        "--epochs 30 --lr 0.005 --lr-decay 0.9 --l2 0.6" \
        "--epochs 30 --lr 0.005 --lr-decay 0.9 --l2 0.3 --dim 64" \
        "--epochs 20 --lr 0.005 --lr-decay 0.9 --l2 0.1 --bias-shortcut false" \
        "" ;;
    *) echo "no default grid for $model" >&2; exit 2 ;;
    esac
fi
for flags in "$@"; do
    # shellcheck disable=SC2086 # the flags are split on purpose
    "$E" train --model "$model" --implicit --data "$D/u1.base" --split random:0.2 --json $flags |
        tail -n 1 | python3 -c '
import json, sys
j = json.load(sys.stdin); h = j["history"]
b = max(h, key=lambda r: r["ndcg@10"])
print("%-52s best epoch %2d ndcg@10 %.4f | last epoch %2d ndcg@10 %.4f" % (
    sys.argv[1], b["epoch"], b["ndcg@10"], h[-1]["epoch"], h[-1]["ndcg@10"]))' "$flags"
done
