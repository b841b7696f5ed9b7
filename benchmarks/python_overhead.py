"""What the Python front costs over the command line, in one run on ML-100K u1.

    python benchmarks/python_overhead.py [ML100K_DIR] [--bin target/release/embedrec]

Prints, for book-mf and the default MF: the fit's train_seconds through Python and
through `embedrec train` (alternated, medians of 5); the time to recommend 10 items to
every user as one call against `embedrec recommend --all-users`; and the time to
predict the 20,000 u1.test pairs. Needs the package installed (pip install
./bindings/python) and the release binary.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import embedrec


def main():
    default = Path(os.environ.get("EMBEDREC_DATA", "../shared/data")) / "ml-100k"
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=str(default))
    ap.add_argument("--bin", default="target/release/embedrec")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    d = Path(a.data)
    train, test = embedrec.load(d / "u1.base"), embedrec.load(d / "u1.test")
    u1 = ["--train", str(d / "u1.base"), "--test", str(d / "u1.test")]
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for name, make, flags in [
        ("book-mf", lambda: embedrec.MF.preset("book-mf"), ["--preset", "book-mf"]),
        ("mf defaults", lambda: embedrec.MF(), []),
    ]:
        py, cli = [], []
        for _ in range(a.runs):
            m = make().fit(train)
            py.append(m.model_train_seconds if hasattr(m, "model_train_seconds") else _train_seconds(m))
            out = subprocess.run([a.bin, "train", "--model", "mf", *flags, *u1, "--json"],
                                 capture_output=True, text=True, check=True).stdout
            cli.append(json.loads(out.strip().splitlines()[-1])["train_seconds"])
        p, c = statistics.median(py), statistics.median(cli)
        print(f"{name:<12} train_seconds: python {p:.3f} (runs {_fmt(py)}), cli {c:.3f} "
              f"(runs {_fmt(cli)}): python/cli {p / c:.3f}")

    model = embedrec.MF().fit(train)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mf.emb"
        model.save(path)
        py, cli = [], []
        for _ in range(a.runs):
            started = time.perf_counter()
            lists = model.recommend_all(n=10)
            py.append(time.perf_counter() - started)
            out = subprocess.run([a.bin, "recommend", "--model", str(path), "--all-users",
                                  "--out", str(Path(tmp) / "all.csv"), "-n", "10", "--json",
                                  "--threads", "1"],
                                 capture_output=True, text=True, check=True).stdout
            cli.append(json.loads(out.strip().splitlines()[-1])["seconds"])
        users = len(lists)
        p, c = statistics.median(py), statistics.median(cli)
        print(f"recommend_all ({users} users, 10 each, 1 thread): python {p * 1e3:.1f} ms "
              f"({p / users * 1e6:.1f} us/user), cli --all-users {c * 1e3:.1f} ms "
              f"({c / users * 1e6:.1f} us/user)")
    users = _column(d / "u1.test", 0)
    items = _column(d / "u1.test", 1)
    model.predict(users[:10], items[:10])  # warm-up: the first call imports numpy
    times = []
    for _ in range(a.runs):
        started = time.perf_counter()
        model.predict(users, items)
        times.append(time.perf_counter() - started)
    print(f"predict {len(users)} u1.test pairs: {statistics.median(times) * 1e3:.2f} ms "
          f"(runs {_fmt([t * 1e3 for t in times])} ms)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


def _train_seconds(m):
    return sum(e["seconds"] for e in m.history)


def _column(path, k):
    return [line.split("\t")[k] for line in Path(path).read_text().splitlines() if line]


def _fmt(xs):
    return " ".join(f"{x:.3f}" for x in xs)


if __name__ == "__main__":
    main()
