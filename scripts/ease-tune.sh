#!/bin/sh
# Validation of ease's settings for protocol B (docs/tuning.md, "Implicit feedback"): protocol B's
# training data (u.data less each user's latest rating, ties broken by the highest item
# id) is split again the same way, and every grid point is scored by the HR@10 of the
# carved items among 99 sampled negatives. No protocol-B test item is read.
# Prints one line per grid point: l2 recency hr@10 ndcg@10, best first.
# Usage: scripts/ease-tune.sh [embedrec binary]   (EMBEDREC_DATA as for the tests)
set -eu
E=${1:-target/release/embedrec}
D=${EMBEDREC_DATA:-../shared/data}/ml-100k
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sort -k1,1n -k4,4n -k2,2n "$D/u.data" | awk 'NR > 1 && $1 == pu { print pl } { pu = $1; pl = $0 }' > "$T/b-train.data"
for l2 in 200 300 500 1000 2000 4000; do
    for rec in none 4:2 4:5 4:10 4:20 8:2 8:5 8:10 8:20 16:2 16:5 16:10 16:20 32:2 32:5 32:10 32:20 64:2 64:5 64:10 64:20; do
        "$E" train --model ease --l2 "$l2" --recency "$rec" --data "$T/b-train.data" \
            --split user-out:1:latest --protocol sampled --json | tail -n 1 |
            python3 -c 'import json, sys; r = json.load(sys.stdin); print(sys.argv[1], sys.argv[2], "%.4f %.4f" % (r["hr@10"], r["ndcg@10"]))' "$l2" "$rec"
    done
done | sort -k3,3nr -k4,4nr
