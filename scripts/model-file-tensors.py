#!/usr/bin/env python3
"""List what embedrec model files hold: kind, format version, metadata keys, and every
tensor's name, dtype and shape (read from the safetensors header; no dependencies).

    scripts/model-file-tensors.py MODEL.emb [MODEL.emb ...]

The layout is documented in docs/model-file.md.
"""
import json
import struct
import sys


def header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def main(paths):
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for path in paths:
        h = header(path)
        meta = h.pop("__metadata__", {})
        m = json.loads(meta.get("embedrec", "{}"))
        print(f"{path}: kind {m.get('kind')}, format_version {m.get('format_version')}")
        print(f"  __metadata__ keys: {', '.join(sorted(meta))}")
        print(f"  embedrec keys: {', '.join(sorted(m))}")
        for name in sorted(h):
            t = h[name]
            print(f"  {name:28} {t['dtype']:4} {t['shape']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
