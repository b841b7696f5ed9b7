#!/usr/bin/env bash
# The validation evidence for autorec's defaults (docs/tuning.md): validation RMSE on a 10%
# carve of each training file (`--data F --split random:0.1`; no test file is read), for the
# previous defaults and the choices that make up the new ones.
#   u1        ML-100K u1.base
#   wide      the training 80% of `data synth --users 610 --items 9724 --ratings 100836
#             --scale 0.5:5` (the shape of MovieLens latest-small; lines shuffled with seed 1)
#   users20   u1.base of a random 20% of the users     (scripts/subsample.py --users 0.2)
#   rare50    u1.base of the items with <= 50 ratings  (scripts/subsample.py --max-item-ratings 50)
# Usage: scripts/tune-autorec.sh
# Env: EMBEDREC (binary, default target/release/embedrec), DATA (default ../shared/data/ml-100k),
#      WORK (scratch folder, default a new temp folder).
set -euo pipefail
bin=${EMBEDREC:-target/release/embedrec}
data=${DATA:-../shared/data/ml-100k}
work=${WORK:-$(mktemp -d)}
here=$(dirname "$0")
mkdir -p "$work"
"$bin" data synth --out "$work/wide" --users 610 --items 9724 --ratings 100836 --scale 0.5:5 >/dev/null
python3 - "$work" <<'PY'
import random, sys
w = sys.argv[1]
lines = open(f"{w}/wide/u.data").read().splitlines()
random.Random(1).shuffle(lines)
open(f"{w}/wide.base", "w").write("\n".join(lines[: len(lines) * 8 // 10]) + "\n")
PY
python3 "$here/subsample.py" --data "$data" --fold u1 --out "$work/users20" --users 0.2 >/dev/null
python3 "$here/subsample.py" --data "$data" --fold u1 --out "$work/rare50" --max-item-ratings 50 >/dev/null
# The variants, as --config files (defaults < --config < flags).
conf() { local name=$1; shift; printf '%s\n' "$@" > "$work/$name.toml"; }
conf previous 'residual = false' 'l2 = 100.0' 'patience = 0'  # the defaults before
conf no-stopping 'patience = 0'                                # all 60 epochs, no carve
conf ratings-l2-100 'input = "ratings"' 'l2 = 100.0'           # fixed lambda
conf ratings 'input = "ratings"'                               # lambda by the rule
conf residuals 'input = "residuals"'
: > "$work/defaults.toml"                                      # input auto
val() { # FILE CONFIG: the validation RMSE (the carve is the "test" of --split)
  "$bin" train --model autorec --data "$1" --split random:0.1 --config "$work/$2.toml" --json 2>/dev/null |
    tail -n 1 | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["test_rmse"])'
}
files=("$data/u1.base" "$work/wide.base" "$work/users20/u1.base" "$work/rare50/u1.base")
printf '%-15s %-8s %-8s %-8s %-8s\n' variant u1 wide users20 rare50
base=()
for f in "${files[@]}"; do
  base+=("$("$bin" train --model baseline --data "$f" --split random:0.1 --json 2>/dev/null |
    tail -n 1 | python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["test_rmse"])')")
done
printf '%-15s %-8s %-8s %-8s %-8s\n' baseline "${base[@]}"
for c in previous no-stopping ratings-l2-100 ratings residuals defaults; do
  row=()
  for f in "${files[@]}"; do row+=("$(val "$f" "$c")"); done
  printf '%-15s %-8s %-8s %-8s %-8s\n' "$c" "${row[@]}"
done
