#!/usr/bin/env python3
"""Build a throwaway nginx configuration around the SHIPPED nginx/ snippets.

The point of the integration tests is to exercise the very files operators
install, so the snippets are copied verbatim except for the few strings that
must differ on a test machine: the worker socket path and the admin UI root.
Each of those must occur exactly once in the shipped file; if a snippet is
edited so that one no longer matches, generation fails loudly instead of
silently testing something else.

Layout under a prefix directory (nginx runs as `nginx -p <prefix> -c conf/nginx.conf`):
    conf/nginx.conf          generated: minimal main + http block
    conf/fastcgi_params      copied from the system (Debian: /etc/nginx/fastcgi_params)
    conf/snippets/*.conf     the shipped snippets, as operators install them
    logs/, temp/             everything nginx writes

Also a command line for bench/run.sh:
    nginx_conf.py --prefix DIR --port N --socket PATH [--include FILE ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "nginx"
SYSTEM_FASTCGI_PARAMS = Path(os.environ.get("SATMETER_FASTCGI_PARAMS", "/etc/nginx/fastcgi_params"))
SHIPPED_SOCKET = "unix:/run/satmeter/fcgi.sock"
SHIPPED_ADMIN_ROOT = "root /usr/share/satmeter;"
TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass
class NginxConfig:
    """Where one generated configuration lives, and what it listens on."""

    prefix: Path
    port: int
    socket_path: Path
    admin_root: Path
    extra_includes: list[Path] = field(default_factory=list)
    worker_processes: int = 1

    @property
    def conf_dir(self) -> Path:
        return self.prefix / "conf"

    @property
    def conf_path(self) -> Path:
        return self.conf_dir / "nginx.conf"

    @property
    def error_log(self) -> Path:
        return self.prefix / "logs" / "error.log"

    @property
    def access_log(self) -> Path:
        return self.prefix / "logs" / "access.log"

    @property
    def pid_path(self) -> Path:
        return self.prefix / "logs" / "nginx.pid"

    def argv(self, nginx_bin: str = "/usr/sbin/nginx") -> list[str]:
        """nginx in the foreground with this prefix; -e so nothing touches /var/log."""
        return [nginx_bin, "-p", str(self.prefix), "-e", str(self.error_log), "-c", str(self.conf_path)]


def substitute_once(text: str, old: str, new: str, source: str) -> str:
    """Replace old by new, insisting that old occurs exactly once."""
    count = text.count(old)
    if count != 1:
        raise ValueError(f"{source}: expected {old!r} exactly once, found it {count} times; "
                         "update Tests/integration/nginx_conf.py together with the snippet")
    return text.replace(old, new)


def shipped(name: str) -> str:
    return (SHIPPED_DIR / name).read_text()


def install_snippets(conf_dir: Path, socket_path: Path, admin_root: Path) -> None:
    """Copy the shipped snippets and fastcgi_params as an operator would."""
    snippets = conf_dir / "snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SYSTEM_FASTCGI_PARAMS, conf_dir / "fastcgi_params")
    (snippets / "satmeter-upstream.conf").write_text(
        substitute_once(shipped("satmeter-upstream.conf"), SHIPPED_SOCKET, f"unix:{socket_path}", "satmeter-upstream.conf"))
    (snippets / "satmeter-locations.conf").write_text(
        substitute_once(shipped("satmeter-locations.conf"), SHIPPED_ADMIN_ROOT, f"root {admin_root};", "satmeter-locations.conf"))
    (snippets / "satmeter-fastcgi.conf").write_text(shipped("satmeter-fastcgi.conf"))


def main_conf(cfg: NginxConfig, http_body: str) -> str:
    """The generated main file: only process, log and temp-path plumbing.

    As root, nginx would switch its workers to `nobody`, who cannot reach the
    test's private temp directories, so the workers stay root; as any other
    user the `user` directive must be absent.
    """
    temp = cfg.prefix / "temp"
    user_line = "user root;\n" if os.geteuid() == 0 else ""
    temp_lines = "".join(f"    {kind}_temp_path {temp / kind};\n" for kind in TEMP_KINDS)
    return (
        f"{user_line}worker_processes {cfg.worker_processes};\n"
        "daemon off;\n"
        f"pid {cfg.pid_path};\n"
        f"error_log {cfg.error_log} info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        f"    access_log {cfg.access_log};\n"
        f"{temp_lines}"
        "    default_type application/octet-stream;\n"
        "    types { text/html html; text/css css; application/javascript js; application/json json; }\n"
        f"{http_body}"
        "}\n"
    )


def prepare_dirs(cfg: NginxConfig) -> None:
    for directory in [cfg.conf_dir, cfg.prefix / "logs", *(cfg.prefix / "temp" / k for k in TEMP_KINDS)]:
        directory.mkdir(parents=True, exist_ok=True)


def write_config(cfg: NginxConfig) -> Path:
    """Write the whole configuration for a server that includes the snippets."""
    prepare_dirs(cfg)
    install_snippets(cfg.conf_dir, cfg.socket_path, cfg.admin_root)
    extra = "".join(f"    include {path};\n" for path in cfg.extra_includes)
    http_body = (
        "    include snippets/satmeter-upstream.conf;\n"
        f"{extra}"
        "    server {\n"
        f"        listen 127.0.0.1:{cfg.port};\n"
        "        server_name localhost;\n"
        "        include snippets/satmeter-locations.conf;\n"
        "    }\n"
    )
    cfg.conf_path.write_text(main_conf(cfg, http_body))
    return cfg.conf_path


def _cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate a test nginx config around the shipped snippets.")
    parser.add_argument("--prefix", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True, help="listen on 127.0.0.1:PORT")
    parser.add_argument("--socket", type=Path, required=True, help="satmeter's FastCGI unix socket")
    parser.add_argument("--admin-root", type=Path, help="directory holding admin/ (default PREFIX/admin-root)")
    parser.add_argument("--include", type=Path, action="append", default=[], help="extra file for the http block")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    cfg = NginxConfig(args.prefix.resolve(), args.port, args.socket.resolve(),
                      (args.admin_root or args.prefix / "admin-root").resolve(),
                      [p.resolve() for p in args.include], args.workers)
    print(write_config(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(_cli())
