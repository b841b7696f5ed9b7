"""The textbook's chapter on deep-learning recommenders, in Python with embedrec.

Walks the chapter on MovieLens 100K's u1 split: matrix factorization as a neural
network, the deep model, the occupation variable and a blend — first as the textbook's
Keras code has them (the presets), then with embedrec's tuned defaults — and prints the
test RMSE table. Saves the learning curves of the two MF models (matplotlib when it is
installed, else embedrec's own SVG).

    python examples/textbook.py [ML100K_DIR] [--out DIR]

ML100K_DIR defaults to $EMBEDREC_DATA/ml-100k, else ../shared/data/ml-100k.
"""

import argparse
import os
import time
from pathlib import Path

import embedrec


def main():
    default = Path(os.environ.get("EMBEDREC_DATA", "../shared/data")) / "ml-100k"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="?", default=str(default), help="the ml-100k folder")
    ap.add_argument("--out", default=".", help="folder for the learning-curve figure")
    a = ap.parse_args()
    data = Path(a.data)
    train = embedrec.load(data / "u1.base")
    test = embedrec.load(data / "u1.test")

    steps = [
        ("MF as a neural network (Keras)", embedrec.MF.preset("book-mf")),
        ("deep model (Keras)", embedrec.Deep.preset("book-dl")),
        ("deep + occupation (Keras)", embedrec.Deep.preset("book-dl-occ")),
        ("MF, tuned defaults", embedrec.MF()),
        ("deep, tuned defaults", embedrec.Deep()),
        ("blend of mf, knn, autorec", embedrec.Blend()),
    ]
    print(f"MovieLens 100K u1: {len(train)} training, {len(test)} test ratings\n")
    print(f"{'model':<34}{'test RMSE':>10}{'epochs':>8}{'fit s':>8}")
    fitted = {}
    for name, model in steps:
        started = time.perf_counter()
        model.fit(train, watch=test)
        seconds = time.perf_counter() - started
        rmse = model.evaluate(test)["rmse"]
        fitted[name] = model
        print(f"{name:<34}{rmse:>10.4f}{len(model.history):>8}{seconds:>8.2f}")

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    curves = {
        "book-mf": fitted["MF as a neural network (Keras)"].history,
        "mf": fitted["MF, tuned defaults"].history,
    }
    print()
    print("learning curves:", ", ".join(str(p) for p in save_curves(curves, out)))


def save_curves(curves, out):
    """Train and test RMSE per epoch of each model: one PNG with matplotlib, else one SVG
    per model."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        paths = []
        for name, history in curves.items():
            path = out / f"textbook-{name}.svg"
            embedrec._embedrec.plot_learning_curve(
                str(path),
                f"{name}: train and test RMSE per epoch",
                [e["epoch"] for e in history],
                [e["train_rmse"] for e in history],
                [e["watch_rmse"] for e in history],
            )
            paths.append(path)
        return paths
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, history in curves.items():
        epochs = [e["epoch"] for e in history]
        ax.plot(epochs, [e["train_rmse"] for e in history], label=f"{name} train")
        ax.plot(epochs, [e["watch_rmse"] for e in history], "--", label=f"{name} test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMSE")
    ax.legend()
    path = out / "textbook-curves.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return [path]


if __name__ == "__main__":
    main()
