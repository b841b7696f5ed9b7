#!/usr/bin/env python3
"""Malformed and hostile requests against a running `embedrec serve`: one raw request
per class, its status and error code, and the time to the answer.

    embedrec serve --model MODEL --addr 127.0.0.1:8099 --header-timeout 2 --body-timeout 2 &
    scripts/malformed-requests.py --addr 127.0.0.1:8099 --item ITEM

ITEM is a raw item id the model knows. Prints a Markdown table (class, status, code,
seconds) and exits 1 when a class gets a 5xx, no answer, or a status other than the one
expected. Standard library only.
"""
import argparse
import json
import socket
import sys
import time


def raw(addr, data, pause_after=None, rest=b"", timeout=15):
    """Sends `data` (then, after `pause_after` seconds, `rest`) on a fresh connection;
    returns (status or None, error code or '', seconds to the answer)."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    t = time.perf_counter()
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before the whole request was sent: read the answer
        if pause_after is not None:
            time.sleep(pause_after)
            try:
                s.sendall(rest)
            except OSError:
                pass
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        dt = time.perf_counter() - t
        if not buf:
            return None, "", dt
        head, _, body = buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v.strip())
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        try:
            code = json.loads(body)["error"]["code"]
        except Exception:
            code = ""
        return status, code, dt
    except (socket.timeout, ConnectionResetError):
        return None, "", time.perf_counter() - t
    finally:
        s.close()


def post(path, body, ctype=b"application/json", extra=b""):
    if isinstance(body, str):
        body = body.encode()
    headers = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    if ctype:
        headers += b"Content-Type: " + ctype + b"\r\n"
    return headers + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def get(path):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", default="127.0.0.1:8099")
    ap.add_argument("--item", required=True)
    a = ap.parse_args()
    item = a.item
    big_pairs = json.dumps({"pairs": [{"user": "1", "item": item}] * 10001})
    over_mib = '{"pairs":[' + ",".join(['{"user":"1","item":"%s"}' % item] * 50000) + "]}"
    classes = [
        ("body not JSON", post("/v1/predict", "{not json"), 400),
        ("JSON missing a field", post("/v1/predict", '{"pairz":[]}'), 400),
        ("JSON field of a wrong type", post("/v1/predict", '{"pairs":"x"}'), 400),
        ("truncated JSON", post("/v1/recommend", '{"ratings":[{"item":"%s","rat' % item), 400),
        ("no Content-Type", post("/v1/predict", '{"pairs":[]}', ctype=None), 415),
        ("wrong Content-Type", post("/v1/predict", '{"pairs":[]}', ctype=b"text/plain"), 415),
        ("rating 1e30 (fold-in)", post("/v1/recommend", '{"ratings":[{"item":"%s","rating":1e30}]}' % item), 400),
        ("rating -7 (fold-in)", post("/v1/recommend", '{"ratings":[{"item":"%s","rating":-7}]}' % item), 400),
        ("rating a string (fold-in)", post("/v1/recommend", '{"ratings":[{"item":"%s","rating":"5"}]}' % item), 400),
        ("n = 0", get("/v1/users/1/recommendations?n=0"), 400),
        ("n = 1001", get("/v1/users/1/recommendations?n=1001"), 400),
        ("n not a number", get("/v1/users/1/recommendations?n=ten"), 400),
        ("exclude_seen not a bool", get("/v1/users/1/recommendations?exclude_seen=2"), 400),
        ("10,001 pairs", post("/v1/predict", big_pairs), 413),
        ("body over 1 MiB", post("/v1/predict", over_mib), 413),
        ("Content-Length 11,000,000, 10 bytes sent",
         b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: 11000000\r\n\r\n{\"pairs\":[", 413),
        ("body slower than the body timeout",
         b"POST /v1/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
         b"Content-Length: 20\r\n\r\n{\"pa", 408),
        ("unknown route", get("/v2/nothing"), 404),
        ("unknown item (similar)", get("/v1/items/no-such-item/similar"), 404),
        ("wrong method", get("/v1/predict"), 405),
        ("garbage request line", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
        ("2 MB header", b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 2_000_000 + b"\r\n\r\n", 431),
        ("path not UTF-8 once decoded", get("/v1/users/%ff%fe/recommendations"), 400),
        ("header slower than the header timeout", b"GET /health HTTP/1.1\r\nHost: x\r\n", None),
    ]
    print("| request class | expected | status | code | seconds |")
    print("|---|---|---|---|---|")
    bad = 0
    for name, data, want in classes:
        status, code, dt = raw(a.addr, data)
        ok = status == want and (status is None or status < 500)
        if want is None:  # a connection closed without an answer is what is expected
            ok = status is None or status == 408
        bad += not ok
        print(f"| {name} | {want if want is not None else 'closed'} | "
              f"{status if status is not None else 'closed'} | {code} | {dt:.3f} |"
              + ("" if ok else " **unexpected**"))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
