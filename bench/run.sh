#!/usr/bin/env bash
# Satmeter overhead benchmark: every target in one sitting, on loopback (bench/bench.py does the work).
#
#   wrk -> nginx -> target -> upstream nginx answering a fixed chat completion with usage
#
# Targets (BENCH_TARGETS, default "bare satmeter satmeter2 postgres"; BENCH_PEERS=litellm adds peers):
#   bare       nginx proxy_pass to the upstream
#   satmeter   satmeter serve, 1 process, SQLite, behind the SHIPPED nginx/ snippets
#   satmeter2  the same with --processes 2
#   postgres   satmeter on a throwaway PostgreSQL server (initdb'd in the work dir, SATMETER_DATABASE_URL)
#   litellm    LiteLLM's proxy from .venv-litellm, same upstream, master key, no database
# For each: wrk -t2 -c32 and -t1 -c1, BENCH_RUNS runs of BENCH_SECONDS, interleaved across targets:
# req/s (and ÷ the bare proxy's in the same run), p50, p99, max, CPU ms per request (utime+stime of
# the target and its nginx), bytes written per request (/proc/PID/io write_bytes; SQLite: also the
# DB+WAL growth), RSS and RssAnon of the worker(s) before→after. Then the time to first byte of
# streamed requests (SSE upstream) and satmeter's per-stage profile (satmeter_stage_seconds_total
# on /metrics, read before and after each run). Every request to satmeter is paid by one funded
# key; at the end each satmeter target must pass `satmeter ledger audit`, with the key's loss equal
# to the ledger's earnings and to cost x charged requests. Exit 1 otherwise.
#
# Usage: bench/run.sh [--quick] [path/to/satmeter]
#   --quick              1 s runs, one run, no warm-up, 40 streamed requests (CI: test_bench.py)
#   SATMETER_BIN         binary (default .build/release/satmeter; the argument wins)
#   BENCH_SECONDS        seconds per measured run (default 10)
#   BENCH_RUNS           runs per target and load (default 2)
#   BENCH_WARMUP         seconds of unmeasured -c32 load per target first (default 2)
#   BENCH_STREAM_REQUESTS  streamed requests per target for time to first byte (default 300)
#   BENCH_TARGETS, BENCH_PEERS  see above
#   BENCH_LOADS          wrk loads as THREADSxCONNECTIONS (default "2x32 1x1")
#   soak: BENCH_TARGETS=satmeter BENCH_LOADS=2x32 BENCH_RUNS=10 BENCH_SECONDS=60 adds memory after each run
#   BENCH_KEEP=1         keep the work dir (configs, logs) for inspection
#   SATMETER_NGINX       nginx binary (default /usr/sbin/nginx)
#
# On a 2-core machine wrk, nginx and the targets share the CPUs: compare ratios, not absolutes.
set -euo pipefail
exec python3 "$(dirname "${BASH_SOURCE[0]}")/bench.py" "$@"
