#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora, fuzz/corpus/<target>/, from synthetic data.

    python3 scripts/fuzz-seeds.py [EMBEDREC_BINARY]

Every seed comes from `embedrec data synth` (small MovieLens-shaped data, never
MovieLens itself), from models trained on it, or is written here by hand; each file is
a few KB at most. The layout of a target's input (a leading option byte, etc.) is
described in src/fuzz_targets.rs. The folders are rewritten whole. The `movielens`
seeds are named `seed-<format>-<file>` (their first byte picks the reader), so that no
file in the repository bears a MovieLens data file's name.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
BIN = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "embedrec")


def run(*args):
    subprocess.run([BIN, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    tmp = tempfile.mkdtemp(prefix="embedrec-seeds-")
    try:
        seeds(tmp)
    finally:
        shutil.rmtree(tmp)


def seeds(tmp):
    for t in ["delimited", "movielens", "model_file", "split", "fold_in_ratings", "http_json"]:
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    ml = os.path.join(tmp, "ml")
    run("data", "synth", "--out", ml, "--format", "ml100k", "--users", "12", "--items", "15",
        "--ratings", "60", "--seed", "3")
    csv = os.path.join(tmp, "ratings.csv")
    run("data", "synth", "--out", csv, "--format", "csv", "--users", "12", "--items", "15",
        "--ratings", "60", "--seed", "4", "--scale", "0.5:5")
    read = lambda p: open(p, "rb").read()
    udata, ucsv = read(os.path.join(ml, "u.data")), read(csv)
    uitem, uuser = read(os.path.join(ml, "u.item")), read(os.path.join(ml, "u.user"))

    # delimited: option byte, then a generic file.
    tsv_lines = udata.splitlines()
    csv_lines = ucsv.splitlines()
    write("delimited", "tsv", b"\x01" + udata)
    write("delimited", "csv-header", b"\x01" + ucsv)
    write("delimited", "csv-given-layout", b"\x11" + ucsv)
    write("delimited", "colon-pairs", b"\x01" + b"\n".join(l.replace(b"\t", b"::") for l in tsv_lines[:20]))
    write("delimited", "semicolon-no-time", b"\x05" + b"\n".join(b";".join(l.split(b"\t")[:3]) for l in tsv_lines[:20]))
    write("delimited", "two-columns", b"\x01" + b"\n".join(b",".join(l.split(b"\t")[:2]) for l in tsv_lines[:20]))
    write("delimited", "named-columns", b"\x21" + b"user,item,rating\n" + b"\n".join(b",".join(l.split(b"\t")[:3]) for l in tsv_lines[:20]))
    write("delimited", "cr-endings", b"\x01" + b"\r".join(csv_lines[:20]))
    write("delimited", "crlf-bom", b"\x01" + b"\xef\xbb\xbf" + b"\r\n".join(csv_lines[:20]) + b"\r\n")
    write("delimited", "duplicates-mean", b"\x02" + b"\n".join(tsv_lines[:10] + tsv_lines[:5]))
    write("delimited", "duplicates-error", b"\x00" + b"\n".join(tsv_lines[:10] + tsv_lines[:5]))
    write("delimited", "drop-times-scale", b"\x0d" + udata)

    # movielens: the name index (src/fuzz_targets.rs MOVIELENS_NAMES), then the file.
    dat = b"\n".join(l.replace(b"\t", b"::") for l in tsv_lines)
    users_dat = b"\n".join(b"%d::%s::%d::%d::%05d" % (k + 1, b"MF"[k % 2:k % 2 + 1], [1, 18, 25, 35, 45, 50, 56][k % 7], k % 21, 10000 + k) for k in range(12))
    items = [l.split(b"|") for l in uitem.splitlines()]
    genres = [b"Action", b"Comedy", b"Drama", b"Children's", b"Sci-Fi"]
    movies_dat = b"\n".join(b"%s::%s::%s|%s" % (f[0], f[1], genres[k % 5], genres[(k + 2) % 5]) for k, f in enumerate(items))
    movies_csv = b"movieId,title,genres\n" + b"\n".join(b'%s,"%s",%s|%s' % (f[0], f[1], genres[k % 5], genres[(k + 1) % 5]) for k, f in enumerate(items))
    write("movielens", "seed-100k-ratings", b"\x00" + udata)
    write("movielens", "seed-100k-base", b"\x01" + b"\n".join(tsv_lines[:40]))
    write("movielens", "seed-1m-ratings", b"\x02" + dat)
    write("movielens", "seed-25m-ratings", b"\x03" + ucsv)
    write("movielens", "seed-25m-ratings-quoted", b"\x03" + b'userId,movieId,rating,timestamp\n"1","2",4.5,100\n2,"x\ny",3,5\n')
    write("movielens", "seed-100k-users", b"\x04" + uuser)
    write("movielens", "seed-100k-items", b"\x05" + uitem)
    write("movielens", "seed-1m-users", b"\x06" + users_dat)
    write("movielens", "seed-1m-movies", b"\x07" + movies_dat)
    write("movielens", "seed-25m-movies", b"\x08" + movies_csv)

    # model_file: small models of several kinds, trained on the synthetic ratings.
    small = os.path.join(tmp, "small")
    run("data", "synth", "--out", small, "--format", "ml100k", "--users", "10", "--items", "12",
        "--ratings", "50", "--seed", "5")
    data = os.path.join(small, "u.data")
    kinds = [
        ("baseline", []),
        ("mf", ["--dim", "3", "--epochs", "2"]),
        ("popularity", []),
        ("knn", []),
        ("ease", []),
        ("ials", ["--dim", "3", "--epochs", "2"]),
        ("autorec", ["--epochs", "2", "--hidden", "4"]),
        ("neumf", ["--dim", "2", "--epochs", "1", "--hidden", "4"]),
    ]
    for kind, extra in kinds:
        out = os.path.join(tmp, kind + ".emb")
        try:
            run("train", "--model", kind, "--data", data, "--split", "random:0.2", *extra, "--out", out)
        except subprocess.CalledProcessError:
            print(f"skipped a {kind} seed (training failed)", file=sys.stderr)
            continue
        write("model_file", kind, read(out))

    # split: the spec, a newline, 8 seed bytes and a data-set pick.
    for name, spec in [("random", "random:0.2"), ("kfold", "kfold:5:3"), ("user-out", "user-out:2"),
                       ("user-out-latest", "user-out:1:latest"), ("temporal", "temporal:0.25")]:
        for pick in range(3):
            write("split", f"{name}-{pick}", spec.encode() + b"\n" + bytes([7, 0, 0, 0, 0, 0, 0, 0, pick]))

    # fold_in_ratings: texts for the fuzz model (items "1".."40", scale 1..5).
    write("fold_in_ratings", "three", "1:5,2:3,7:4.5")
    write("fold_in_ratings", "spaces-unknown", " 3 : 4 , 99:2, ,10:1")
    write("fold_in_ratings", "many", ",".join(f"{i}:{1 + i % 5}" for i in range(1, 41)))
    write("fold_in_ratings", "repeated", "5:5,5:1,5:3")

    # http_json: the request byte (src/fuzz_targets.rs), then a body or a path.
    write("http_json", "predict", b"\x00" + b'{"pairs":[{"user":"1","item":"2"},{"user":"x","item":"3"}]}')
    write("http_json", "recommend", b"\x01" + b'{"ratings":[{"item":"1","rating":5},{"item":"9","rating":2.5},{"item":"zz","rating":3}],"n":5}')
    write("http_json", "recommend-no-n", b"\x01" + b'{"ratings":[]}')
    write("http_json", "user-list", b"\x02" + b"1/recommendations?n=5&exclude_seen=false")
    write("http_json", "unknown-user-list", b"\x02" + b"nobody/recommendations")
    write("http_json", "similar", b"\x03" + b"4/similar?n=3")
    write("http_json", "predict-no-content-type", b"\x04" + b'{"pairs":[]}')


if __name__ == "__main__":
    main()
