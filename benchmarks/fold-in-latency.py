#!/usr/bin/env python3
"""Latency of fold-in requests (POST /v1/recommend) against a running `embedrec serve`.

    embedrec serve --model MODEL --addr 127.0.0.1:8099 &
    benchmarks/fold-in-latency.py --addr 127.0.0.1:8099 --items ITEMS_FILE --ratings 20,50

One keep-alive connection, requests one after the other (client time included): p50,
p90, p99 and max per number of ratings. ITEMS_FILE lists raw item ids the model knows,
one a line (e.g. `cut -f2 u1.base | sort -u`). Ratings are random in 1..5.
"""
import argparse
import http.client
import json
import random
import statistics
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1:8099")
    ap.add_argument("--items", required=True)
    ap.add_argument("--ratings", default="20,50")
    ap.add_argument("--requests", type=int, default=500)
    a = ap.parse_args()
    items = [line.strip() for line in open(a.items) if line.strip()]
    host, port = a.addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port))
    rng = random.Random(1)
    for n in [int(x) for x in a.ratings.split(",")]:
        times = []
        for k in range(a.requests + 20):
            body = json.dumps({
                "ratings": [{"item": i, "rating": rng.randint(1, 5)}
                            for i in rng.sample(items, n)],
                "n": 10,
            })
            t = time.perf_counter()
            conn.request("POST", "/v1/recommend", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            dt = (time.perf_counter() - t) * 1e3
            if r.status != 200:
                raise SystemExit(f"status {r.status}")
            if k >= 20:  # warm-up
                times.append(dt)
        times.sort()
        q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
        print(f"ratings {n:>3}: p50 {statistics.median(times):.3f} ms  p90 {q(0.9):.3f} ms  "
              f"p99 {q(0.99):.3f} ms  max {times[-1]:.3f} ms  ({len(times)} requests)")


if __name__ == "__main__":
    main()
