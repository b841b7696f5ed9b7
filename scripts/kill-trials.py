#!/usr/bin/env python3
"""kill -9 during `embedrec train --out MODEL`: does MODEL always load afterwards, and
are the temporary files of killed runs swept?

    scripts/kill-trials.py --data TRAIN_FILE [--trials 20] [--bin target/release/embedrec]
                           [-- TRAIN FLAGS...]

Trains once to have a model, then TRIALS times starts the same training and sends it
SIGKILL after a random delay in (0.7, 1.1) x the training's time, so that many kills
land near or in the save; after each, `predict` must load the model (exit 0). Counts the temporary
files left by the kills, then trains once more to the same path and counts what is
left (the save sweeps the temporary files of dead embedrec processes). Exits 1 when a
model fails to load or a temporary file survives the last save.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="target/release/embedrec")
    ap.add_argument("flags", nargs="*")
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m.emb")
        train = [a.bin, "train", "--model", "mf", "--data", a.data, "--split", "random:0.1",
                 *a.flags, "--out", model]
        t = time.perf_counter()
        subprocess.run(train, check=True, capture_output=True)
        span = time.perf_counter() - t
        loads, seen = 0, set()
        for _ in range(a.trials):
            p = subprocess.Popen(train, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.7 * span, 1.1 * span))
            p.send_signal(signal.SIGKILL)
            p.wait()
            user = "1"
            ok = subprocess.run([a.bin, "predict", "--model", model, "--user", user, "--item", "1"],
                                capture_output=True).returncode == 0
            loads += ok
            seen |= {n for n in os.listdir(tmp) if n.endswith(".tmp")}
        before_sweep = len(seen)
        subprocess.run(train, check=True, capture_output=True)
        after = sum(n.endswith(".tmp") for n in os.listdir(tmp))
        print(f"{a.trials} kill -9 trials (training {span:.2f} s): model loaded after "
              f"{loads}/{a.trials}; temporary files seen after the kills: {before_sweep}; "
              f"after the next save: {after}")
        sys.exit(0 if loads == a.trials and after == 0 else 1)


if __name__ == "__main__":
    main()
