#!/usr/bin/env bash
# Every test, Rust and Python: cargo's suite, then the Python package built into a
# virtual environment (target/venv; maturin, pytest, numpy, pandas, pyarrow and pyspark
# from PyPI; Spark's local mode needs Java 17) and its pytest suite. `.ci/run` runs
# exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release
venv=${EMBEDREC_VENV:-target/venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin pytest numpy pandas pyarrow pyspark
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-build-isolation \
  --force-reinstall --no-deps ./bindings/python
EMBEDREC_BIN=target/release/embedrec "$venv/bin/python" -m pytest -q bindings/python/tests
