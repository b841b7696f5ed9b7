#!/bin/sh
# Top-N figures of the implicit-feedback models on MovieLens 100K (BENCHMARKS.md):
# protocol A (u1.base / u1.test, full ranking, relevant = test rating >= 4) and
# protocol B (u.data, each user's latest rating held out, 99 sampled negatives, seed 42),
# with the training time of each run. Settings were chosen on validation data carved
# from u1.base (`embedrec search ... --data u1.base --val-share 0.2`), and for ease's
# next-item preset on a leave-latest-out carve of protocol B's training data
# (scripts/ease-tune.sh), never on a test set.
# Usage: scripts/implicit-bench.sh [embedrec binary] [ROW]   (EMBEDREC_DATA as for the
# tests; with ROW, only the rows whose name contains it, e.g. `neumf`)
set -eu
E=${1:-target/release/embedrec}
ONLY=${2:-}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
run() {
    name=$1; shift
    case $name in *"$ONLY"*) ;; *) return 0 ;; esac
    a=$("$E" train "$@" --train "$D/u1.base" --test "$D/u1.test" --json | tail -n 1)
    b=$("$E" train "$@" --data "$D/u.data" --split user-out:1:latest --protocol sampled --json | tail -n 1)
    printf '%s\n%s\n' "$a" "$b" | python3 -c '
import json, sys
a, b = (json.loads(l) for l in sys.stdin)
print("| %s | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f |" % (sys.argv[1], a["ndcg@10"], a["precision@10"],
      a["coverage@10"], b["hr@10"], b["ndcg@10"], a["train_seconds"]))' "$name"
}
echo "| model (flags) | A ndcg@10 | A precision@10 | A coverage@10 | B hr@10 | B ndcg@10 | train s (u1.base) |"
echo "|---|---|---|---|---|---|---|"
run "popularity" --model popularity
run "ials (defaults)" --model ials
run "ials --min-rating 3" --model ials --min-rating 3
run "mf warp (defaults)" --model mf --loss warp
run "mf warp --min-rating 3" --model mf --loss warp --min-rating 3
run "mf bpr --negatives 5 --l2 0.03 --epochs 20" --model mf --loss bpr --negatives 5 --l2 0.03 --epochs 20
run "mf bce --l2 0.03 --epochs 20" --model mf --loss bce --l2 0.03 --epochs 20
run "mf softmax --l2 0.03 --epochs 20" --model mf --loss softmax --l2 0.03 --epochs 20
run "ease (defaults)" --model ease
run "ease --preset next-item" --model ease --preset next-item
run "neumf (defaults: bce, 4 negatives)" --model neumf --implicit
run "deep (defaults)" --model deep --implicit
