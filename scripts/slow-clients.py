#!/usr/bin/env python3
"""Slow clients against `embedrec serve`: does /health still answer within 1 s?

Starts `embedrec serve --model MODEL` on a free port (extra serve flags after `--`), opens
N connections that never complete a request (half send nothing, half trickle a header
one byte a second), then times `GET /health` on fresh connections while they are held.
Prints one line per probe and a summary; exits 1 when a probe takes 1 s or more.

Usage: scripts/slow-clients.py MODEL [--n 1100] [--probes 10] [--hold 15]
                               [--bin target/release/embedrec] [-- SERVE FLAGS...]
Example (cap below N, so that eviction is exercised):
       scripts/slow-clients.py mf.emb --n 1100 -- --max-connections 500
Standard library only. The open-file limit of this process is raised to its maximum.
"""

import argparse
import asyncio
import resource
import subprocess
import sys
import time


async def slow_client(host, port, trickle, hold, stats):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        stats["refused"] += 1
        return
    stats["open"] += 1
    try:
        if trickle:
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            await writer.drain()
        end = time.monotonic() + hold
        while time.monotonic() < end:
            if trickle:
                writer.write(b"a")
                await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                if not data:
                    stats["closed_by_server"] += 1
                    return
            except asyncio.TimeoutError:
                pass
    except OSError:
        stats["closed_by_server"] += 1
    finally:
        writer.close()


async def probe(host, port):
    start = time.monotonic()
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 5)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        status = data.split(b"\r\n", 1)[0].decode(errors="replace")
    except (OSError, asyncio.TimeoutError) as e:
        status = f"failed: {e!r}"
    return time.monotonic() - start, status


async def main_async(args, host, port):
    stats = {"open": 0, "refused": 0, "closed_by_server": 0}
    clients = [
        asyncio.create_task(slow_client(host, port, k % 2 == 1, args.hold, stats))
        for k in range(args.n)
    ]
    await asyncio.sleep(2.0)  # let them connect and start trickling
    worst = 0.0
    ok = True
    for k in range(args.probes):
        took, status = await probe(host, port)
        worst = max(worst, took)
        good = status.startswith("HTTP/1.1 200") and took < 1.0
        ok &= good
        print(f"probe {k}: {took * 1000:.1f} ms  {status}")
        await asyncio.sleep(0.5)
    await asyncio.gather(*clients)
    print(
        f"slow clients: {args.n} started, {stats['open']} connected, "
        f"{stats['refused']} refused, {stats['closed_by_server']} closed by the server; "
        f"worst /health: {worst * 1000:.1f} ms -> {'ok' if ok else 'FAIL'}"
    )
    return ok


def main():
    argv = sys.argv[1:]
    serve_flags = []
    if "--" in argv:
        k = argv.index("--")
        argv, serve_flags = argv[:k], argv[k + 1 :]
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--n", type=int, default=1100)
    p.add_argument("--probes", type=int, default=10)
    p.add_argument("--hold", type=float, default=15.0)
    p.add_argument("--bin", default="target/release/embedrec")
    args = p.parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = subprocess.Popen(
        [args.bin, "serve", "--model", args.model, "--addr", "127.0.0.1:0", *serve_flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            sys.exit(f"serve did not start: {line!r}")
        host, port = line.removeprefix("listening on ").rsplit(":", 1)
        ok = asyncio.run(main_async(args, host, int(port)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
