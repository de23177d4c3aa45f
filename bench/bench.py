#!/usr/bin/env python3
"""Satmeter's overhead benchmark (bench/run.sh runs this; its header has the usage).

Everything runs on 127.0.0.1 or unix sockets in one work dir and is stopped on exit:

    wrk -> nginx (one per target) -> target -> upstream nginx (fixed completion with usage)

Targets, all started up front and measured interleaved (run r of every target back to back, so
the ratios to the bare proxy come from the same minutes of the same machine):
    bare       nginx `proxy_pass` to the upstream (keep-alive)
    satmeter   `serve`, one process, SQLite, behind the SHIPPED nginx/ snippets
    satmeter2  the same with `--processes 2`
    postgres   one process on a throwaway PostgreSQL server (initdb'd here; fsync on)
    litellm    LiteLLM's proxy (BENCH_PEERS=litellm), same upstream, master key, no database

Every request to a satmeter target is paid with one funded key and deducts its balance; at the
end each satmeter target must pass `satmeter ledger audit`, and what left the key's balance must
equal what the ledger earned and the per-request cost times the charged requests.
"""
from __future__ import annotations

import atexit
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "Tests" / "integration"))
import nginx_conf  # noqa: E402  (the shipped snippets, as the integration tests use them)

MODEL = "gpt-4o-mini"
RICH_MSAT = 1_000_000_000_000_000
UPSTREAM_KEY = "bench-upstream-key"
LITELLM_KEY = "sk-bench-litellm-master"
BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Say hello in five words."}],
                   "max_tokens": 16}, separators=(",", ":"))
STREAM_BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "Say hello in five words."}],
                          "max_tokens": 16, "stream": True}, separators=(",", ":"))
USAGE = '"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}'
CANNED = ('{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",'
          '"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, nice to meet you."},'
          '"finish_reason":"stop"}],' + USAGE + '}')
CHUNK = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini",'
SSE = "".join(f"data: {event}\n\n" for event in [
    CHUNK + '"choices":[{"index":0,"delta":{"role":"assistant","content":"Hello there,"},"finish_reason":null}]}',
    CHUNK + '"choices":[{"index":0,"delta":{"content":" nice to meet you."},"finish_reason":null}]}',
    CHUNK + '"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}',
    CHUNK + '"choices":[],' + USAGE + '}',
    "[DONE]"])
STAGES = ["read", "pricing", "auth", "reserve", "upstream", "settle", "write", "log"]
TICK = os.sysconf("SC_CLK_TCK")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


@dataclass
class Settings:
    seconds: int
    runs: int
    warmup: int
    stream_requests: int
    quick: bool
    satmeter_bin: Path
    nginx: str
    targets: list[str]
    loads: list[tuple[int, int]] = field(default_factory=lambda: [(2, 32), (1, 1)])

    @staticmethod
    def parse(argv: list[str]) -> "Settings":
        quick = "--quick" in argv
        rest = [a for a in argv if a != "--quick"]
        binary = Path(rest[0] if rest else os.environ.get("SATMETER_BIN") or REPO / ".build/release/satmeter")
        targets = (os.environ.get("BENCH_TARGETS") or "bare satmeter satmeter2 postgres").split()
        targets += [p for p in (os.environ.get("BENCH_PEERS") or "").replace(",", " ").split() if p not in targets]
        loads = [tuple(int(n) for n in load.split("x")) for load in (os.environ.get("BENCH_LOADS") or "2x32 1x1").split()]
        return Settings(
            seconds=1 if quick else env_int("BENCH_SECONDS", env_int("BENCH_DURATION", 10)),
            runs=1 if quick else env_int("BENCH_RUNS", 2),
            warmup=0 if quick else env_int("BENCH_WARMUP", 2),
            stream_requests=env_int("BENCH_STREAM_REQUESTS", 40 if quick else 300),
            quick=quick, satmeter_bin=binary.resolve(), nginx=os.environ.get("SATMETER_NGINX", "/usr/sbin/nginx"),
            targets=targets, loads=loads)


# --- processes ---------------------------------------------------------------------------------

class Processes:
    """Everything started, each in its own process group, stopped (TERM, then KILL) at exit."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.groups: list[subprocess.Popen] = []
        self.stops: list[list[str]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(self.work / f"{name}.log", "ab")
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=env)
        self.groups.append(proc)
        return proc

    def stop_all(self) -> None:
        for argv in self.stops:
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
        for proc in self.groups:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 10
        for proc in self.groups:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, test, seconds: float = 30, log: Path | None = None) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if test():
                return
        except OSError:
            pass
        time.sleep(0.1)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:]) if log and log.exists() else ""
    raise SystemExit(f"bench: timed out waiting for {what}" + (f"; the end of {log.name}:\n{tail}" if tail else ""))


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def descendants(root: int) -> list[int]:
    """root and every process below it (from /proc, at this moment)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


@dataclass
class ProcSample:
    cpu_ticks: int = 0
    write_bytes: int = 0
    rss_kb: int = 0
    anon_kb: int = 0


def sample(pids: list[int]) -> ProcSample:
    total = ProcSample()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total.cpu_ticks += int(stat[11]) + int(stat[12])  # utime, stime
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    total.write_bytes += int(line.split()[1])
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total.rss_kb += int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    total.anon_kb += int(line.split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total


# --- HTTP ----------------------------------------------------------------------------------------

def post(port: int, path: str, body: str, key: str, extra: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json",
                                                        "Authorization": f"Bearer {key}", **(extra or {})})
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


def get(port: int, path: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.read().decode()
    finally:
        conn.close()


def stream_ttfb(port: int, path: str, key: str, extra: dict[str, str], count: int) -> list[float]:
    """Time from the request's last byte sent to the answer's first byte, in ms, over `count`
    sequential streamed requests (a new connection each, opened before the clock starts); each
    answer must be a 200 whose stream reaches [DONE]."""
    headers = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer {key}\r\n{headers}Content-Length: {len(STREAM_BODY)}\r\n"
               f"Connection: close\r\n\r\n{STREAM_BODY}").encode()
    times = []
    for _ in range(count):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            started = time.perf_counter()
            s.sendall(request)
            first = s.recv(65536)
            times.append((time.perf_counter() - started) * 1000)
            answer = [first]
            while chunk := s.recv(65536):
                answer.append(chunk)
        text = b"".join(answer)
        if not text.startswith(b"HTTP/1.1 200") or b"nice to meet you" not in text or b"[DONE]" not in text:
            raise SystemExit(f"bench: a streamed request on port {port} failed:\n{text[:600].decode(errors='replace')}")
    return times


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- the targets -----------------------------------------------------------------------------------

@dataclass
class Target:
    name: str
    label: str
    port: int = 0
    chat_path: str = "/v1/chat/completions"
    stream_path: str | None = "/v1/chat/completions"
    stream_headers: dict[str, str] = field(default_factory=dict)
    api_key: str = "none"
    nginx_root: int = 0
    roots: list[int] = field(default_factory=list)      # the target's own processes (pids whose tree counts)
    worker_roots: list[int] = field(default_factory=list)  # whose memory is reported
    paid: bool = False
    env: dict[str, str] = field(default_factory=dict)
    state: Path | None = None
    files: list[Path] = field(default_factory=list)       # SQLite files whose growth is reported
    cost_msat: int = 0
    answered: int = 0                                      # 2xx answers the bench counted
    in_flight_bound: int = 0                               # requests wrk may have left unanswered
    results: dict = field(default_factory=dict)             # (threads, conns) -> [Run]
    stage_seconds: dict = field(default_factory=dict)     # (threads, conns) -> {stage: seconds}
    stage_counts: dict = field(default_factory=dict)      # (threads, conns) -> {stage: passes}
    ttfb: list[float] = field(default_factory=list)

    def pids(self) -> list[int]:
        return [p for root in self.roots for p in descendants(root)]

    def worker_pids(self) -> list[int]:
        return [p for root in self.worker_roots for p in descendants(root)]


@dataclass
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    requests: int
    non2xx: int
    socket_errors: int
    cpu_ms_per_req: float
    written_per_req: float
    grown_per_req: float | None
    mem_before: ProcSample
    mem_after: ProcSample


class Bench:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.work = Path(tempfile.mkdtemp(prefix="satmeter-bench."))
        self.procs = Processes(self.work)
        self.targets: list[Target] = []
        self.upstream_port = 0
        self.failures: list[str] = []
        self.warnings: list[str] = []

    # upstream and nginx ----------------------------------------------------------------------

    def nginx_main(self, prefix: Path, port: int, http_body: str) -> Path:
        cfg = nginx_conf.NginxConfig(prefix=prefix, port=port, socket_path=self.work / "unused.sock", admin_root=prefix)
        nginx_conf.prepare_dirs(cfg)
        cfg.conf_path.write_text(nginx_conf.main_conf(cfg, http_body))
        return cfg.conf_path

    def start_nginx(self, name: str, prefix: Path, conf: Path, port: int) -> int:
        proc = self.procs.start(name, [self.s.nginx, "-p", str(prefix), "-e", str(prefix / "logs/error.log"), "-c", str(conf)])
        wait_for(f"{name} nginx", lambda: port_open(port))
        return proc.pid

    def start_upstream(self) -> None:
        self.upstream_port = free_port()
        sse = SSE.replace("'", "\\'")
        body = f"""    access_log off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{self.upstream_port} backlog=4096;
        location = /v1/chat/completions {{ default_type application/json; return 200 '{CANNED}'; }}
        location = /stream/v1/chat/completions {{ default_type text/event-stream; return 200 '{sse}'; }}
        location = /v1/models {{
            default_type application/json;
            return 200 '{{"object":"list","data":[{{"id":"{MODEL}","object":"model","created":1700000000,"owned_by":"bench"}}]}}';
        }}
    }}
"""
        prefix = self.work / "upstream"
        conf = self.nginx_main(prefix, self.upstream_port, body)
        conf.write_text(conf.read_text().replace("worker_connections 1024", "worker_connections 4096"))
        self.start_nginx("upstream", prefix, conf, self.upstream_port)

    def proxy_nginx(self, target: Target, backend: str, stream_prefix: str) -> None:
        """A front nginx that only proxies (the bare proxy, and the peers)."""
        target.port = free_port()
        body = f"""    upstream bench_backend {{ server {backend}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{target.port} backlog=4096;
        location / {{
            proxy_pass http://bench_backend{stream_prefix};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
"""
        prefix = self.work / f"{target.name}-nginx"
        target.nginx_root = self.start_nginx(f"{target.name}-nginx", prefix, self.nginx_main(prefix, target.port, body), target.port)

    # targets ---------------------------------------------------------------------------------

    def add_bare(self) -> None:
        target = Target("bare", "bare nginx proxy_pass")
        self.proxy_nginx(target, f"127.0.0.1:{self.upstream_port}", "")
        target.stream_path = "/stream/v1/chat/completions"
        self.targets.append(target)

    def satmeter_config(self) -> Path:
        path = self.work / "satmeter.yaml"
        path.write_text(f"""providers:
  - name: bench
    base_url: http://127.0.0.1:{self.upstream_port}/v1
    api_key_env: SATMETER_UPSTREAM_API_KEY
  - name: bench-stream
    base_url: http://127.0.0.1:{self.upstream_port}/stream/v1
    api_key_env: SATMETER_UPSTREAM_API_KEY
    priority: 9
routes:
  "POST /v1/chat/completions":
    type: token-based
    models:
      {MODEL}: {{ prompt_usd_per_1m: "150", completion_usd_per_1m: "600" }}
    match:
      - where: {{ headers.x-bench-stream: "1" }}
        upstream: bench-stream
""")
        return path

    def satmeter_cli(self, target: Target, *args: str) -> subprocess.CompletedProcess:
        argv = [str(self.s.satmeter_bin), *args, "--state-dir", str(target.state), "--config", str(self.work / "satmeter.yaml")]
        return subprocess.run(argv, env=target.env, capture_output=True, text=True, timeout=120)

    def add_satmeter(self, name: str, label: str, processes: int = 1, database_url: str | None = None) -> None:
        target = Target(name, label, paid=True, stream_headers={"X-Bench-Stream": "1"})
        target.state = self.work / f"{name}-state"
        target.state.mkdir()
        target.env = {**os.environ, "SATMETER_BTC_USD": "100000", "SATMETER_UPSTREAM_API_KEY": UPSTREAM_KEY}
        target.env.pop("SATMETER_DATABASE_URL", None)
        if database_url:
            target.env["SATMETER_DATABASE_URL"] = database_url
        else:
            target.files = [target.state / "satmeter.db", target.state / "satmeter.db-wal"]
        created = self.satmeter_cli(target, "keys", "create", "--balance-msat", str(RICH_MSAT), "--json")
        if created.returncode != 0:
            raise SystemExit(f"bench: {name}: keys create failed:\n{created.stderr}")
        target.api_key = json.loads(created.stdout)["api_key"]
        sock = self.work / f"{name}.sock"
        argv = [str(self.s.satmeter_bin), "serve", "--listen", f"unix:{sock}", "--state-dir", str(target.state),
                "--config", str(self.work / "satmeter.yaml")]
        if processes > 1:
            argv += ["--processes", str(processes)]
        proc = self.procs.start(name, argv, env=target.env)
        target.roots = target.worker_roots = [proc.pid]
        wait_for(f"{name} socket", sock.is_socket, log=self.work / f"{name}.log")
        target.port = free_port()
        cfg = nginx_conf.NginxConfig(prefix=self.work / f"{name}-nginx", port=target.port, socket_path=sock,
                                     admin_root=self.work / f"{name}-nginx")
        nginx_conf.write_config(cfg)
        target.nginx_root = self.start_nginx(f"{name}-nginx", cfg.prefix, cfg.conf_path, target.port)
        if processes > 1:
            wait_for(f"{name}'s {processes} workers", lambda: len(descendants(proc.pid)) > processes)
        self.targets.append(target)

    def start_postgres(self) -> str:
        pg_bin = Path(os.environ.get("SATMETER_PG_BIN", "/usr/lib/postgresql/15/bin"))
        if not (pg_bin / "initdb").exists():
            raise SystemExit(f"bench: PostgreSQL not installed ({pg_bin}/initdb): run script/bootstrap, or BENCH_TARGETS without postgres")
        pg_dir = self.work / "pg"
        pg_dir.mkdir()
        as_owner: list[str] = []
        if os.geteuid() == 0:  # initdb refuses root
            shutil.chown(self.work, "postgres")
            shutil.chown(pg_dir, "postgres")
            as_owner = ["runuser", "-u", "postgres", "--"]
        port = free_port()
        subprocess.run([*as_owner, str(pg_bin / "initdb"), "-D", str(pg_dir / "data"), "-A", "trust", "-U", "satmeter",
                        "--no-sync"], check=True, stdout=subprocess.DEVNULL, timeout=180)
        ctl = [*as_owner, str(pg_bin / "pg_ctl"), "-D", str(pg_dir / "data"), "-l", str(pg_dir / "log")]
        # BENCH_PG_OPTIONS: more server settings, e.g. "-c shared_preload_libraries=pg_stat_statements".
        extra = os.environ.get("BENCH_PG_OPTIONS", "")
        subprocess.run([*ctl, "-w", "-o", f"-k {pg_dir} -c listen_addresses=127.0.0.1 -p {port} -c max_connections=300 {extra}",
                        "start"], check=True, stdout=subprocess.DEVNULL, timeout=120)
        self.procs.stops.append([*ctl, "-m", "fast", "-w", "stop"])
        subprocess.run(["psql", "-X", "-q", "-h", str(pg_dir), "-p", str(port), "-U", "satmeter", "-d", "postgres",
                        "-c", "CREATE DATABASE satmeter_bench"], check=True, stdout=subprocess.DEVNULL, timeout=60)
        self.pg_postmaster = int((pg_dir / "data/postmaster.pid").read_text().split()[0])
        return f"postgres://satmeter@127.0.0.1:{port}/satmeter_bench"

    def add_litellm(self) -> None:
        venv = Path(os.environ.get("SATMETER_LITELLM_VENV", REPO / ".venv-litellm"))
        if not (venv / "bin/litellm").exists():
            raise SystemExit(f"bench: BENCH_PEERS=litellm needs {venv}/bin/litellm (script/bootstrap creates it)")
        target = Target("litellm", "LiteLLM proxy (2 workers, no DB)", api_key=LITELLM_KEY,
                        stream_path="/v1/chat/completions", stream_headers={})
        port = free_port()
        conf = self.work / "litellm.yaml"
        conf.write_text(f"""model_list:
  - model_name: {MODEL}
    litellm_params: {{model: openai/{MODEL}, api_key: {UPSTREAM_KEY}, api_base: "http://127.0.0.1:{self.upstream_port}/v1"}}
general_settings: {{master_key: {LITELLM_KEY}}}
""")
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("SATMETER_")}, "LITELLM_LOG": "ERROR",
               "LITELLM_TELEMETRY": "False", "NO_PROXY": "*", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        # gunicorn with preload: imported once, then forked; uvicorn's own workers are killed when
        # an import takes over 5 s, which it does on a loaded box.
        proc = self.procs.start("litellm", [str(venv / "bin/litellm"), "--config", str(conf), "--host", "127.0.0.1",
                                            "--port", str(port), "--num_workers", "2", "--run_gunicorn"], env=env)
        wait_for("litellm", lambda: post(port, "/v1/chat/completions", BODY, LITELLM_KEY)[0] == 200, seconds=300,
                 log=self.work / "litellm.log")
        target.roots = target.worker_roots = [proc.pid]
        target.stream_path = None  # LiteLLM would stream from a non-streaming upstream answer: not comparable
        self.proxy_nginx(target, f"127.0.0.1:{port}", "")
        self.targets.append(target)

    # measuring -------------------------------------------------------------------------------

    def check(self, target: Target) -> None:
        status, headers, body = post(target.port, target.chat_path, BODY, target.api_key)
        if status != 200 or b'"usage"' not in body:
            raise SystemExit(f"bench: {target.name} answered {status}, not a completion with usage:\n{body[:500]!r}")
        target.answered += 1
        if target.paid:
            target.cost_msat = int(headers["x-satmeter-cost-msat"])
            if target.cost_msat <= 0:
                raise SystemExit(f"bench: {target.name} charged nothing: every benchmarked request must be paid")

    def wrk(self, target: Target, threads: int, conns: int, seconds: int) -> dict[str, float]:
        script = self.work / f"{target.name}.lua"
        script.write_text(f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {target.api_key}"
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("BENCH rps=%.1f p50_us=%d p99_us=%d max_us=%d requests=%d non2xx=%d socket_errors=%d\\n",
        summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99), latency.max,
        summary.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
""")
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script),
                              f"http://127.0.0.1:{target.port}{target.chat_path}"],
                             capture_output=True, text=True, timeout=seconds + 60)
        line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
        if line is None:
            raise SystemExit(f"bench: wrk against {target.name} printed no summary:\n{out.stdout}\n{out.stderr}")
        values = {k: float(v) for k, v in (kv.split("=") for kv in line.split()[1:])}
        target.answered += int(values["requests"]) - int(values["non2xx"])
        target.in_flight_bound += conns
        return values

    def stage_totals(self, target: Target) -> dict[int, dict[str, tuple[float, int]]]:
        """satmeter_stage_* per worker pid; with several processes, polled until each answered."""
        seen: dict[int, dict[str, tuple[float, int]]] = {}
        workers = max(1, len(target.worker_pids()) - (1 if len(target.worker_pids()) > 1 else 0))
        for _ in range(40):
            per_pid: dict[int, dict[str, list]] = {}
            for line in get(target.port, "/metrics").splitlines():
                m = re.match(r'satmeter_stage_(seconds|count)_total\{process="(\d+)",stage="(\w+)"\} (\S+)', line)
                if m:
                    entry = per_pid.setdefault(int(m[2]), {}).setdefault(m[3], [0.0, 0])
                    entry[0 if m[1] == "seconds" else 1] = float(m[4]) if m[1] == "seconds" else int(m[4])
            for pid, stages in per_pid.items():
                seen[pid] = {k: (v[0], v[1]) for k, v in stages.items()}
            if len(seen) >= workers:
                break
        return seen

    def measure(self, target: Target, threads: int, conns: int) -> None:
        stages_before = self.stage_totals(target) if target.paid else {}
        pids = target.pids() + descendants(target.nginx_root)
        before, mem_before = sample(pids), sample(target.worker_pids())
        grown_before = sum(f.stat().st_size for f in target.files if f.exists())
        w = self.wrk(target, threads, conns, self.s.seconds)
        after, mem_after = sample(pids), sample(target.worker_pids())
        grown_after = sum(f.stat().st_size for f in target.files if f.exists())
        n = max(1, int(w["requests"]))
        target.results.setdefault((threads, conns), []).append(Run(
            rps=w["rps"], p50_ms=w["p50_us"] / 1000, p99_ms=w["p99_us"] / 1000, max_ms=w["max_us"] / 1000,
            requests=int(w["requests"]), non2xx=int(w["non2xx"]), socket_errors=int(w["socket_errors"]),
            cpu_ms_per_req=(after.cpu_ticks - before.cpu_ticks) * 1000 / TICK / n,
            written_per_req=(after.write_bytes - before.write_bytes) / n,
            grown_per_req=(grown_after - grown_before) / n if target.files else None,
            mem_before=mem_before, mem_after=mem_after))
        if not w["requests"]:
            print(f"bench: note: no request to {target.name} completed within the {self.s.seconds} s run at "
                  f"-t{threads} -c{conns}; its per-request figures are per one request", file=sys.stderr)
        if w["non2xx"]:
            # Not a failure of the bench (a loaded box may see a 503 "busy, not charged"); the audit decides.
            self.warnings.append(f"{target.name}: {int(w['non2xx'])} non-2xx answers at -t{threads} -c{conns}")
        if target.paid:
            sums = target.stage_seconds.setdefault((threads, conns), {})
            counts = target.stage_counts.setdefault((threads, conns), {})
            for pid, stages in self.stage_totals(target).items():
                for stage, (seconds, count) in stages.items():
                    old_seconds, old_count = stages_before.get(pid, {}).get(stage, (0.0, 0))
                    sums[stage] = sums.get(stage, 0.0) + seconds - old_seconds
                    counts[stage] = counts.get(stage, 0) + count - old_count

    def measure_streams(self, target: Target) -> None:
        if target.stream_path is None:
            return
        stream_ttfb(target.port, target.stream_path, target.api_key, target.stream_headers, 5)  # warm
        target.ttfb = stream_ttfb(target.port, target.stream_path, target.api_key, target.stream_headers,
                                  self.s.stream_requests)
        target.answered += 5 + self.s.stream_requests

    # the money check -------------------------------------------------------------------------

    def audit(self, target: Target) -> str:
        """The books balance, nothing is held, and the key lost exactly cost x charged requests."""
        status, headers, _ = post(target.port, target.chat_path, BODY, target.api_key)
        if status != 200:
            return f"the final paid request answered {status}"
        target.answered += 1
        spent = RICH_MSAT - int(headers["x-satmeter-balance-msat"])
        report = {}
        for _ in range(50):  # the last requests' reservations close within moments of wrk stopping
            out = self.satmeter_cli(target, "ledger", "audit")
            try:
                report = json.loads(out.stdout)
            except ValueError:
                return f"ledger audit printed no report (exit {out.returncode}): {out.stderr.strip()[:300]}"
            if report.get("held_reservations") == 0:
                break
            time.sleep(0.2)
        if out.returncode != 0 or report.get("consistent") is not True:
            return f"ledger audit: unbalanced: {out.stdout.strip()[:600]}"
        if report.get("held_reservations") != 0 or report.get("reserved_msat") != 0:
            return f"ledger audit: reservations still held: {report}"
        if report.get("earned_msat") != spent:
            return f"the key paid {spent} msat but the ledger earned {report.get('earned_msat')} msat"
        charged, rest = divmod(spent, target.cost_msat)
        if rest:
            return f"{spent} msat spent is not a whole number of {target.cost_msat} msat requests"
        if not target.answered <= charged <= target.answered + target.in_flight_bound:
            return (f"{charged} requests charged for {target.answered} answered "
                    f"(+ at most {target.in_flight_bound} cut off by wrk's end)")
        return (f"balanced: {charged} paid requests x {target.cost_msat} msat = {spent} msat deducted = earned "
                f"({target.answered} answered to the bench)")

    # the run -----------------------------------------------------------------------------------

    def run(self) -> int:
        s = self.s
        for tool in [s.nginx, "wrk"]:
            if shutil.which(tool) is None:
                raise SystemExit(f"bench: {tool} not found (script/bootstrap installs it)")
        satmeter_wanted = any(t in s.targets for t in ("satmeter", "satmeter2", "postgres"))
        if satmeter_wanted and not s.satmeter_bin.is_file():
            raise SystemExit(f"bench: no satmeter binary at {s.satmeter_bin} (swift build -c release)")
        self.start_upstream()
        self.satmeter_config()
        for name in s.targets:
            if name == "bare":
                self.add_bare()
            elif name == "satmeter":
                self.add_satmeter(name, "satmeter, 1 process (SQLite)")
            elif name == "satmeter2":
                self.add_satmeter(name, "satmeter --processes 2 (SQLite)", processes=2)
            elif name == "postgres":
                url = self.start_postgres()
                self.add_satmeter(name, "satmeter, 1 process (PostgreSQL)", database_url=url)
                self.targets[-1].roots = [*self.targets[-1].roots, self.pg_postmaster]
            elif name == "litellm":
                self.add_litellm()
            else:
                raise SystemExit(f"bench: unknown target {name!r} (bare satmeter satmeter2 postgres litellm)")
        for target in self.targets:
            self.check(target)
        self.header()
        for target in self.targets:
            if s.warmup:
                self.wrk(target, 2, 32, s.warmup)
        for _ in range(s.runs):
            for threads, conns in s.loads:
                for target in self.targets:
                    self.measure(target, threads, conns)
        for target in self.targets:
            self.measure_streams(target)
        self.report()
        for target in self.targets:
            if target.paid:
                verdict = self.audit(target)
                print(f"audit {target.name:<10} {verdict}")
                if not verdict.startswith("balanced"):
                    self.failures.append(f"{target.name}: {verdict}")
        for warning in self.warnings:
            print(f"bench: WARNING: {warning}")
        for failure in self.failures:
            print(f"bench: FAILED: {failure}", file=sys.stderr)
        return 1 if self.failures else 0

    def header(self) -> None:
        s = self.s
        load = os.getloadavg()
        binary = s.satmeter_bin
        build = "release" if "/release/" in str(binary) else "debug" if "/debug/" in str(binary) else "?"
        print(f"bench: {os.cpu_count()} cores, load average {load[0]:.1f} at start "
              f"({'BUSY machine: other work shares the cores, compare ratios only' if load[0] > 1.5 else 'quiet'})")
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True,
                                text=True).stdout.strip() or "?"
        built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(binary.stat().st_mtime)) if binary.is_file() else "-"
        print(f"bench: {binary} ({build} build, built {built}; repo at {commit})")
        print(f"bench: {s.seconds} s per run x {s.runs} run(s), {s.warmup} s warm-up; "
              f"targets: {' '.join(t.name for t in self.targets)}{' (--quick)' if s.quick else ''}")

    def report(self) -> None:
        bare = next((t for t in self.targets if t.name == "bare"), None)

        def span(values: list[float], fmt: str) -> str:
            lo, hi = min(values), max(values)
            return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}–{fmt.format(hi)}"

        for threads, conns in self.s.loads:
            print(f"\n-t{threads} -c{conns}: range over runs; ×bare = req/s ÷ the bare proxy's in the same run")
            print(f"{'target':<34} {'req/s':>15} {'×bare':>13} {'p50 ms':>11} {'p99 ms':>11} {'max ms':>11} "
                  f"{'CPU ms/req':>11} {'written B/req':>13} {'db+wal B/req':>13} {'RSS MB before→after':>20} {'anon MB':>11} {'errors':>8}")
            for target in self.targets:
                runs = target.results[(threads, conns)]
                ratio = "-" if bare is None or target is bare else span(
                    [r.rps / b.rps for r, b in zip(runs, bare.results[(threads, conns)])], "{:.3f}")
                grown = span([r.grown_per_req for r in runs], "{:.0f}") if runs[0].grown_per_req is not None else "-"
                rss = (f"{runs[0].mem_before.rss_kb / 1024:.0f}→{max(r.mem_after.rss_kb for r in runs) / 1024:.0f}"
                       if target.worker_roots else "-")
                anon = (f"{runs[0].mem_before.anon_kb / 1024:.0f}→{max(r.mem_after.anon_kb for r in runs) / 1024:.0f}"
                        if target.worker_roots else "-")
                print(f"{target.label:<34} {span([r.rps for r in runs], '{:,.0f}'):>15} {ratio:>13} "
                      f"{span([r.p50_ms for r in runs], '{:.2f}'):>11} {span([r.p99_ms for r in runs], '{:.2f}'):>11} "
                      f"{span([r.max_ms for r in runs], '{:.1f}'):>11} {span([r.cpu_ms_per_req for r in runs], '{:.3f}'):>11} "
                      f"{span([r.written_per_req for r in runs], '{:.0f}'):>13} {grown:>13} {rss:>20} {anon:>11} "
                      f"{sum(r.non2xx + r.socket_errors for r in runs):>8}")
        streamed = [t for t in self.targets if t.ttfb]
        if streamed:
            print(f"\nstreaming, time to first byte over {self.s.stream_requests} sequential streamed requests (SSE upstream)")
            print(f"{'target':<34} {'p50 ms':>8} {'p99 ms':>8} {'added p50 ms':>13} {'added p99 ms':>13}")
            for t in streamed:
                p50, p99 = percentile(t.ttfb, 50), percentile(t.ttfb, 99)
                added = (f"{p50 - percentile(bare.ttfb, 50):>13.2f} {p99 - percentile(bare.ttfb, 99):>13.2f}"
                         if bare and bare.ttfb and t is not bare else f"{'-':>13} {'-':>13}")
                print(f"{t.label:<34} {p50:>8.2f} {p99:>8.2f} {added}")
        self.report_memory_trace()
        for load in self.s.loads:
            profiled = [t for t in self.targets if t.stage_counts.get(load, {}).get("log")]
            if not profiled:
                continue
            print(f"\nper-stage profile at -t{load[0]} -c{load[1]}, µs per paid request "
                  "(worker wall time, from satmeter_stage_seconds_total on /metrics)")
            print(f"{'target':<34} " + " ".join(f"{stage:>9}" for stage in STAGES) + f" {'total':>9}")
            for t in profiled:
                n = t.stage_counts[load]["log"]
                per = [t.stage_seconds[load].get(stage, 0.0) * 1e6 / n for stage in STAGES]
                print(f"{t.label:<34} " + " ".join(f"{v:>9.1f}" for v in per) + f" {sum(per):>9.1f}")

    def report_memory_trace(self) -> None:
        """With three runs or more (a soak: BENCH_RUNS=10 BENCH_SECONDS=60), the worker's memory after each run."""
        if self.s.runs < 3:
            return
        for load in self.s.loads:
            print(f"\nmemory over the runs at -t{load[0]} -c{load[1]}: the worker(s) after each {self.s.seconds} s run, MB")
            for t in (t for t in self.targets if t.worker_roots):
                runs = t.results[load]
                print(f"{t.label:<34} RSS   {runs[0].mem_before.rss_kb / 1024:>5.0f} | "
                      + " ".join(f"{r.mem_after.rss_kb / 1024:>5.0f}" for r in runs))
                print(f"{'':<34} anon  {runs[0].mem_before.anon_kb / 1024:>5.0f} | "
                      + " ".join(f"{r.mem_after.anon_kb / 1024:>5.0f}" for r in runs))


def main() -> int:
    settings = Settings.parse(sys.argv[1:])
    bench = Bench(settings)
    atexit.register(lambda: cleanup(bench))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    return bench.run()


def cleanup(bench: Bench) -> None:
    bench.procs.stop_all()
    if os.environ.get("BENCH_KEEP") == "1":
        print(f"bench: kept {bench.work}", file=sys.stderr)
    else:
        shutil.rmtree(bench.work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
