"""LiteLLM's proxy (PyPI `litellm[proxy]`, in .venv-litellm) as an OpenAI-compatible upstream
that is not written in this repo: its `mock_response` models answer without any network.

    with LiteLLMUpstream(workdir) as upstream:
        upstream.base_url    # "http://127.0.0.1:<port>/v1"
        upstream.api_key     # the proxy's master key; satmeter sends it as SATMETER_UPSTREAM_API_KEY

Its JSON parser keeps the LAST copy of a duplicated key (Python's json), which is what makes a
duplicate key dangerous in front of it. Start-up takes ~10-20 s, so the fixture is session-wide
(`litellm_upstream` in conftest.py). The venv is found at SATMETER_LITELLM_VENV, else
<repo>/.venv-litellm (script/bootstrap creates it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from procs import REPO_ROOT, ManagedProcess, free_port

LITELLM_VENV = Path(os.environ.get("SATMETER_LITELLM_VENV", REPO_ROOT / ".venv-litellm"))
MASTER_KEY = "sk-litellm-master-5e1a"
MOCK_REPLY = "Hello from the mocked upstream."
# Model names as satmeter prices them (GATEWAY_CONFIG); each answers MOCK_REPLY.
MODELS = ("gpt-4o-mini", "gpt-3.5-turbo-instruct", "text-embedding-3-small")


def available() -> bool:
    return (LITELLM_VENV / "bin" / "litellm").exists()


class LiteLLMUpstream:
    def __init__(self, workdir: Path, venv: Path = LITELLM_VENV) -> None:
        self.workdir = workdir
        self.venv = venv
        self.port = 0
        self.proc: ManagedProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def api_key(self) -> str:
        return MASTER_KEY

    def _config(self) -> str:
        models = "".join(
            f"  - model_name: {name}\n"
            f"    litellm_params: {{model: openai/{name}, api_key: x, mock_response: \"{MOCK_REPLY}\"}}\n"
            for name in MODELS)
        return f"model_list:\n{models}general_settings: {{master_key: {MASTER_KEY}}}\n"

    def start(self, timeout: float = 90.0) -> "LiteLLMUpstream":
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "litellm.yaml"
        config.write_text(self._config())
        self.port = free_port()
        env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "NO_PROXY": "*",
               "DISABLE_SCHEMA_UPDATE": "true", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
        argv = [str(self.venv / "bin" / "litellm"), "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = ManagedProcess("litellm", argv, self.workdir, env=env).start()
        self.proc.wait_until(self._ready, f"LiteLLM on port {self.port}", timeout)
        return self

    def _ready(self) -> bool:
        import urllib.request
        request = urllib.request.Request(f"{self.base_url}/models", headers={"Authorization": f"Bearer {MASTER_KEY}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def __enter__(self) -> "LiteLLMUpstream":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
