#!/usr/bin/env python3
"""Corrupted model files: is each one refused (exit 2) or loaded with the same answers?

    scripts/corrupt-models.py --model MODEL --user USER [--n 300] [--bin target/release/embedrec]

Makes N variants of MODEL, in three equal classes: truncated at a random length, one byte
flipped (random bit mask) in the header (the 8-byte length and the JSON: tensor table and
metadata), one byte flipped in the tensor data. Each variant is asked
`recommend --user USER -n 5 --json`; the answer is compared with the original's. Prints
the counts per class: refused with exit 2, loaded with the same answer, loaded with a
different answer or another exit status (both defects). Exits 1 on any defect.
"""
import argparse
import os
import random
import subprocess
import sys
import tempfile


def ask(binary, model, user):
    p = subprocess.run([binary, "recommend", "--model", model, "--user", user, "-n", "5", "--json"],
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bin", default="target/release/embedrec")
    a = ap.parse_args()
    data = open(a.model, "rb").read()
    header_end = 8 + int.from_bytes(data[:8], "little")
    code, want = ask(a.bin, a.model, a.user)
    if code != 0:
        sys.exit(f"the original model does not answer (exit {code})")
    rng = random.Random(a.seed)
    counts = {}
    defects = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bad.emb")
        for k in range(a.n):
            cls = ["truncated", "header byte", "tensor byte"][k % 3]
            if cls == "truncated":
                v = data[: rng.randrange(len(data))]
            else:
                pos = rng.randrange(header_end) if cls == "header byte" else rng.randrange(header_end, len(data))
                v = bytearray(data)
                v[pos] ^= rng.randrange(1, 256)
                v = bytes(v)
            with open(path, "wb") as f:
                f.write(v)
            code, out = ask(a.bin, path, a.user)
            if code == 2:
                result = "refused (exit 2)"
            elif code == 0 and out == want:
                result = "same answer"
            else:
                result = f"DEFECT (exit {code}, {'same' if out == want else 'different'} answer)"
                defects += 1
            counts[(cls, result)] = counts.get((cls, result), 0) + 1
    print(f"{a.n} variants of {a.model} ({len(data)} bytes, header {header_end} bytes)")
    for (cls, result), n in sorted(counts.items()):
        print(f"{cls:12s} {result:20s} {n}")
    sys.exit(1 if defects else 0)


if __name__ == "__main__":
    main()
