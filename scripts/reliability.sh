#!/usr/bin/env bash
# The figures of docs/reliability.md: `embedrec serve` under load from a separate
# process (wrk), hot reload under load, malformed requests, slow clients, corrupted model
# files, kill -9 during saves. (Fuzzing: scripts/fuzz.sh.)
#
#   scripts/reliability.sh [STEP...]
#   steps: models load reload malformed slow corrupt kill   (default: all, in that order)
#
# Models: MF trained on ML-100K u1.base at K=64 (`--dim 64`) and at the default K (512),
# written to $WORK (kept: later steps reuse them). Load: per model, 8 connections
# (CONNECTIONS) for 30 s (DURATION) on 2 wrk threads, recommendations alone and the
# mixed workload of benchmarks/wrk/load.lua (equal shares of recommend / similar /
# fold-in with 20 ratings / predict of 10 pairs), ids the model knows; then
# benchmarks/fold-in-latency.py (one connection, 20 and 50 ratings).
# Env: EMBEDREC (binary, default target/release/embedrec), DATA (default
# ../shared/data/ml-100k), WORK (default a new temporary folder), PORT (default 8097).
# Needs wrk (`apt-get install wrk`) and python3. Run it on a quiet machine (timings).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${EMBEDREC:-$root/target/release/embedrec}
data=${DATA:-$root/../shared/data/ml-100k}
work=${WORK:-$(mktemp -d)}
port=${PORT:-8097}
duration=${DURATION:-30}
connections=${CONNECTIONS:-8}
addr=127.0.0.1:$port
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(models load reload malformed slow corrupt kill)
mkdir -p "$work"
echo "work folder: $work"

server=
start_server() { # MODEL [FLAGS...]
    "$bin" serve --model "$@" --addr "$addr" > "$work/serve.log" 2>&1 &
    server=$!
    for _ in $(seq 300); do
        curl -sf "http://$addr/health" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the server did not start" >&2
    cat "$work/serve.log" >&2
    exit 1
}
stop_server() {
    [ -n "$server" ] && kill "$server" 2> /dev/null && wait "$server" 2> /dev/null || true
    server=
}
trap stop_server EXIT

summary() { # a train --json line -> its K and test RMSE
    python3 -c 'import json,sys; j=json.load(sys.stdin); print("mf K=%s test RMSE %.4f" % (j["params"]["dim"], j["test_rmse"]))'
}

wrk_run() { # MODE [DURATION]
    wrk -t2 -c"$connections" -d"${2:-$duration}s" --latency -s "$root/benchmarks/wrk/load.lua" \
        "http://$addr" -- "$1" "$work/users.txt" "$work/items.txt"
}

for step in "${steps[@]}"; do
    echo
    echo "== $step"
    case $step in
    models)
        "$bin" train --model mf --dim 64 --train "$data/u1.base" --test "$data/u1.test" \
            --out "$work/mf64.emb" --json | tail -1 | summary
        "$bin" train --model mf --dim 64 --seed 2 --train "$data/u1.base" \
            --test "$data/u1.test" --out "$work/mf64b.emb" > /dev/null
        "$bin" train --model mf --train "$data/u1.base" --test "$data/u1.test" \
            --out "$work/mf512.emb" --json | tail -1 | summary
        cut -f1 "$data/u1.base" | sort -u > "$work/users.txt"
        cut -f2 "$data/u1.base" | sort -u > "$work/items.txt"
        ;;
    load)
        for k in 64 512; do
            start_server "$work/mf$k.emb"
            for mode in recommend mixed; do
                echo "-- K=$k $mode: $connections connections, $duration s"
                wrk_run "$mode"
            done
            echo "-- K=$k fold-in latency, one connection"
            python3 "$root/benchmarks/fold-in-latency.py" --addr "$addr" \
                --items "$work/items.txt" --ratings 20,50
            stop_server
        done
        ;;
    reload)
        # Mixed load on a K=64 model while it is swapped 10 times (mv + endpoint,
        # cp + SIGHUP, alternating models) and refused twice (a truncated file).
        cp "$work/mf64.emb" "$work/live.emb"
        start_server "$work/live.emb"
        wrk_run mixed > "$work/reload-wrk.txt" &
        wrk_pid=$!
        sleep 2
        ok=0 refused=0 other=0
        for i in $(seq 12); do
            src=$work/mf64.emb
            [ $((i % 2)) -eq 0 ] && src=$work/mf64b.emb
            if [ "$i" -eq 6 ] || [ "$i" -eq 12 ]; then
                head -c 100000 "$src" > "$work/live.tmp.emb"
                mv "$work/live.tmp.emb" "$work/live.emb"
            elif [ $((i % 2)) -eq 0 ]; then
                cp "$src" "$work/live.tmp.emb"
                mv "$work/live.tmp.emb" "$work/live.emb"
            else
                cp "$src" "$work/live.emb"
            fi
            if [ $((i % 4)) -eq 1 ]; then
                kill -HUP "$server"
                sleep 0.5
                code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/v1/model")
                # A SIGHUP reload reports on the server's stderr.
                if tail -1 "$work/serve.log" | grep -q '^reloaded'; then code=200; fi
            else
                code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$addr/v1/admin/reload")
            fi
            case $code in 200) ok=$((ok + 1)) ;; 422) refused=$((refused + 1)) ;; *) other=$((other + 1)) ;; esac
            sleep 1.5
        done
        cp "$work/mf64.emb" "$work/live.emb"
        wait "$wrk_pid"
        echo "reloads: $ok swapped, $refused refused (truncated file; old model kept), $other other"
        grep -A20 '^status' "$work/reload-wrk.txt"
        stop_server
        ;;
    malformed)
        start_server "$work/mf64.emb" --header-timeout 2 --body-timeout 2
        python3 "$here/malformed-requests.py" --addr "$addr" --item "$(head -1 "$work/items.txt")"
        curl -sf "http://$addr/health" > /dev/null && echo "server still answers /health"
        stop_server
        ;;
    slow)
        python3 "$here/slow-clients.py" "$work/mf512.emb" --n 1100 --bin "$bin"
        ;;
    corrupt)
        python3 "$here/corrupt-models.py" --model "$work/mf64.emb" --user 1 --n 300 --bin "$bin"
        ;;
    kill)
        python3 "$here/kill-trials.py" --data "$data/u1.base" --trials 20 --bin "$bin"
        ;;
    *)
        echo "unknown step $step" >&2
        exit 2
        ;;
    esac
done
