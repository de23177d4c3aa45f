#!/usr/bin/env bash
# Satmeter overhead benchmark.
#
# Starts, all on 127.0.0.1 and all stopped again on exit:
#   upstream  nginx answering POST /v1/chat/completions with a fixed OpenAI
#             JSON (with usage) via `return 200`, so it is never the bottleneck;
#   front     one nginx with two servers:
#               satmeter - the SHIPPED nginx/ snippets -> satmeter (FastCGI) -> upstream
#               bare     - location /v1/ { proxy_pass upstream; } (keep-alive, as
#                          satmeter's libcurl also reuses its upstream connections)
#   satmeter  `serve` on a unix socket, with a key holding a huge balance.
# Then wrk (POST with an Authorization header, from a generated Lua script)
# runs against each for BENCH_DURATION seconds and prints req/s, p50/p99
# latency, and the ratios satmeter/bare.
#
# Usage: bench/run.sh [path/to/satmeter]
#   SATMETER_BIN         binary (default .build/release/satmeter; the argument wins)
#   BENCH_DURATION       seconds per measured run (default 10)
#   BENCH_THREADS        wrk threads (default 2)
#   BENCH_CONNECTIONS    wrk connections (default 32)
#   BENCH_WARMUP         seconds of unmeasured warm-up per target (default 2)
#   BENCH_SATMETER_CONFIG  optional YAML passed as --config (e.g. model prices)
#   BENCH_KEEP=1         keep the work dir (configs, logs) for inspection
#   SATMETER_NGINX       nginx binary (default /usr/sbin/nginx)
#
# On a 2-core machine wrk, nginx and satmeter share the CPUs: the numbers
# measure the box as a whole. Compare ratios, not absolute values.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
satmeter_bin=${1:-${SATMETER_BIN:-$repo/.build/release/satmeter}}
duration=${BENCH_DURATION:-10}
threads=${BENCH_THREADS:-2}
connections=${BENCH_CONNECTIONS:-32}
warmup=${BENCH_WARMUP:-2}
nginx=${SATMETER_NGINX:-/usr/sbin/nginx}
model=gpt-4o-mini
upstream_key=bench-upstream-key
rich_msat=1000000000000000

for tool in "$nginx" wrk curl python3; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found" >&2; exit 2; }
done

work=$(mktemp -d /tmp/satmeter-bench.XXXXXX)
group_leaders=()
wrk_pid=

cleanup() {
    local pid
    [[ -n $wrk_pid ]] && { kill -TERM "$wrk_pid" 2>/dev/null || true; }
    for pid in "${group_leaders[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${group_leaders[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then echo "bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Start "$@" in its own process group (so cleanup stops its children too).
start_group() {
    local name=$1; shift
    setsid "$@" >"$work/$name.log" 2>&1 &
    group_leaders+=("$!")
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() { # description, test command...
    local what=$1; shift
    for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
    echo "bench: timed out waiting for $what" >&2
    return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

up_port=$(free_port); bare_port=$(free_port); sat_port=$(free_port)

# --- upstream: canned OpenAI answer --------------------------------------------------
canned='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}'
mkdir -p "$work/upstream/logs" "$work/upstream/temp"
cat >"$work/upstream/nginx.conf" <<EOF
$( [[ $EUID == 0 ]] && echo "user root;" )
worker_processes 1;
daemon off;
pid $work/upstream/logs/nginx.pid;
error_log $work/upstream/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/upstream/temp/client_body;
    proxy_temp_path $work/upstream/temp/proxy;
    fastcgi_temp_path $work/upstream/temp/fastcgi;
    uwsgi_temp_path $work/upstream/temp/uwsgi;
    scgi_temp_path $work/upstream/temp/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$up_port;
        location = /v1/chat/completions {
            default_type application/json;
            return 200 '$canned';
        }
        location = /v1/models {
            default_type application/json;
            return 200 '{"object":"list","data":[{"id":"$model","object":"model","created":1700000000,"owned_by":"bench"}]}';
        }
    }
}
EOF
start_group upstream "$nginx" -p "$work/upstream" -e "$work/upstream/logs/error.log" -c "$work/upstream/nginx.conf"
wait_for "upstream nginx" port_open "$up_port"

# --- front nginx: shipped snippets (satmeter) + bare proxy ---------------------------
cat >"$work/bare.conf" <<EOF
upstream bench_bare {
    server 127.0.0.1:$up_port;
    keepalive 64;
}
server {
    listen 127.0.0.1:$bare_port;
    location /v1/ {
        proxy_pass http://bench_bare;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
}
EOF
python3 "$repo/Tests/integration/nginx_conf.py" --prefix "$work/front" --port "$sat_port" \
    --socket "$work/fcgi.sock" --include "$work/bare.conf" >/dev/null
start_group front "$nginx" -p "$work/front" -e "$work/front/logs/error.log" -c "$work/front/conf/nginx.conf"
wait_for "front nginx" port_open "$sat_port"

# --- satmeter -------------------------------------------------------------------------
api_key=none
satmeter_ok=0
config_args=()
[[ -n ${BENCH_SATMETER_CONFIG:-} ]] && config_args=(--config "$BENCH_SATMETER_CONFIG")
if [[ ! -x $satmeter_bin ]]; then
    echo "bench: satmeter binary not found at $satmeter_bin (build it: swift build -c release);"
    echo "bench: measuring the bare proxy only."
else
    export SATMETER_UPSTREAM_URL="http://127.0.0.1:$up_port/v1"
    export SATMETER_UPSTREAM_API_KEY=$upstream_key
    export SATMETER_BTC_USD=100000
    mkdir -p "$work/state"
    if key_json=$("$satmeter_bin" keys create --balance-msat "$rich_msat" --state-dir "$work/state" "${config_args[@]}" --json) &&
        api_key=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])' <<<"$key_json"); then
        start_group satmeter "$satmeter_bin" serve --listen "unix:$work/fcgi.sock" --state-dir "$work/state" "${config_args[@]}"
        if wait_for "satmeter socket" test -S "$work/fcgi.sock"; then satmeter_ok=1; fi
    else
        echo "bench: satmeter keys create failed; measuring the bare proxy only." >&2
    fi
fi

# --- wrk --------------------------------------------------------------------------------
body="{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Say hello in five words.\"}],\"max_tokens\":16}"
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $api_key"

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d non2xx=%d socket_errors=%d\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
        summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF

# One request by curl first: a target that does not answer 200 with usage is not benchmarked.
check() { # name url
    local status
    status=$(curl -s -o "$work/$1.check" -w '%{http_code}' -X POST "$2" -H "Content-Type: application/json" \
        -H "Authorization: Bearer $api_key" --data "$body" || true)
    if [[ $status == 200 ]] && grep -q '"usage"' "$work/$1.check"; then return 0; fi
    echo "bench: $1 answered HTTP $status, not benchmarking it:" >&2
    head -c 500 "$work/$1.check" >&2; echo >&2
    return 1
}

# wrk runs in the background and the shell waits for it, so an INT/TERM trap
# fires at once (not after the run) and cleanup can stop wrk too.
run_wrk() { # seconds url output-file
    wrk -t"$threads" -c"$connections" -d"$1s" --latency -s "$work/post.lua" "$2" >"$3" &
    wrk_pid=$!
    wait "$wrk_pid"
    wrk_pid=
}

measure() { # name url; results in $work/name.wrk
    (( warmup > 0 )) && run_wrk "$warmup" "$2" /dev/null
    run_wrk "$duration" "$2" "$work/$1.wrk"
}

results() { # name -> "rps p50_us p99_us non2xx socket_errors"
    awk '/^BENCH/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                    print v["rps"], v["p50_us"], v["p99_us"], v["non2xx"], v["socket_errors"] }' "$work/$1.wrk"
}

echo "bench: $(nproc) cores; wrk -t$threads -c$connections, ${duration}s per target (+${warmup}s warm-up)"
bare_url="http://127.0.0.1:$bare_port/v1/chat/completions"
sat_url="http://127.0.0.1:$sat_port/v1/chat/completions"
check bare "$bare_url" || exit 1
measure bare "$bare_url"
read -r bare_rps bare_p50 bare_p99 bare_non2xx bare_sockerr < <(results bare)
if (( satmeter_ok )) && check satmeter "$sat_url"; then
    measure satmeter "$sat_url"
    read -r sat_rps sat_p50 sat_p99 sat_non2xx sat_sockerr < <(results satmeter)
else
    satmeter_ok=0
    [[ -f $work/satmeter.log ]] && { echo "bench: satmeter log (tail):" >&2; tail -n 20 "$work/satmeter.log" >&2; }
fi

row() { awk -v n="$1" -v r="$2" -v a="$3" -v b="$4" -v c="$5" -v d="$6" \
    'BEGIN { printf "%-10s %10.1f %9.2f %9.2f %8d %8d\n", n, r, a / 1000, b / 1000, c, d }'; }
echo
printf '%-10s %10s %9s %9s %8s %8s\n' target "req/s" "p50 ms" "p99 ms" non-2xx sock-err
row bare "$bare_rps" "$bare_p50" "$bare_p99" "$bare_non2xx" "$bare_sockerr"
if (( satmeter_ok )); then
    row satmeter "$sat_rps" "$sat_p50" "$sat_p99" "$sat_non2xx" "$sat_sockerr"
    awk -v s="$sat_rps" -v b="$bare_rps" -v sp="$sat_p50" -v bp="$bare_p50" 'BEGIN {
        printf "\nsatmeter/bare req/s: %.3f\nadded p50 latency:   %.2f ms\n", s / b, (sp - bp) / 1000 }'
    (( sat_non2xx == 0 )) || echo "bench: WARNING: satmeter answered $sat_non2xx non-2xx responses; its req/s is not comparable" >&2
else
    echo "satmeter   (not measured)"
fi
