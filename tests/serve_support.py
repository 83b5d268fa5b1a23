"""Helpers for the serve tests: a deterministic keyword screen and a service config.

The keyword screen keeps these tests independent of the rules/encoder screens (owned and
tested elsewhere): it is registered as ``serve_kw`` when this module is imported, which the
service does through the config's ``imports`` (``tests/`` must be on ``sys.path``).
"""

from __future__ import annotations

import time
from typing import Sequence


from guardagent.screens import registry
from guardagent.screens.base import Screen
from guardagent.taxonomy import Item, Label, Scores, Source, Verdict

MALICIOUS_MARK = "EVIL"
SENSITIVE_MARK = "DELICATE"


class KeywordScreen(Screen):
    name = "serve_kw"

    def __init__(self, sensitive_tools: Sequence[str] = ()):
        self.sensitive_tools = set(sensitive_tools)

    async def ascreen_batch(self, items: Sequence[Item]) -> list[Verdict]:
        out = []
        for it in items:
            if MALICIOUS_MARK in it.text:
                label, why = Label.MALICIOUS, "malicious marker"
            elif SENSITIVE_MARK in it.text or (it.source is Source.ACTION and it.tool_name in self.sensitive_tools):
                label, why = Label.SENSITIVE, "sensitive marker or tool"
            else:
                label, why = Label.BENIGN, "nothing found"
            out.append(Verdict(label=label, scores=Scores.one_hot(label, 0.99), source=it.source,
                               reasons=[why], screen=self.name, decisive=True))
        return out


def slow_script(messages):
    """The demo agent, but SLOW takes a second to answer and BOOM makes the model fail."""
    from guardagent.scripted import demo_agent
    from guardagent.taxonomy import content_to_text

    text = content_to_text(messages[-1].content)
    if "SLOW" in text:
        time.sleep(1.0)
    if "BOOM" in text:
        raise RuntimeError("the model provider is down")
    return demo_agent(messages)


def _factory(policy, options):
    return KeywordScreen(policy.tools.sensitive)


registry.register("serve_kw", _factory)


def config_dict(db: str, **extra) -> dict:
    """A service config: demo agent and tools, the kw screen everywhere, send_money sensitive."""
    cfg = {
        "db": db,
        "imports": ["serve_support"],
        "policy": {
            "sources": {s: {"screens": ["serve_kw"]} for s in ("user", "action", "tool")},
            "tools": {"sensitive": ["send_money"], "forbidden": ["run_shell"]},
        },
        "limits": {"max_body_bytes": 20_000, "max_message_chars": 2_000, "lock_wait_s": 0.5,
                   "run_timeout_s": 30},
    }
    for k, v in extra.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    return cfg


# -- a real server process -----------------------------------------------------------------

import json as _json  # noqa: E402
import os as _os  # noqa: E402
import signal as _signal  # noqa: E402
import socket as _socket  # noqa: E402
import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402
from pathlib import Path as _Path  # noqa: E402

HERE = _Path(__file__).parent


def free_port() -> int:
    with _socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli_env() -> dict:
    env = dict(_os.environ)
    env["PYTHONPATH"] = _os.pathsep.join([str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")])
    env.setdefault("HF_HUB_OFFLINE", "1")
    return env


def cli(*args: str, timeout: float = 60) -> str:
    """Run ``guardagent ARGS`` in a subprocess; returns stdout (fails loudly)."""
    out = _subprocess.run([_sys.executable, "-m", "guardagent.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=timeout)
    assert out.returncode == 0, f"guardagent {' '.join(args)} failed:\n{out.stderr[-3000:]}"
    return out.stdout


class ServerProcess:
    """``guardagent serve`` on a loopback port, as a child process."""

    def __init__(self, config: dict, workdir: _Path, port: int | None = None):
        self.port = port or free_port()
        self.config_path = workdir / f"serve-{self.port}.json"
        self.config_path.write_text(_json.dumps({**config, "port": self.port, "log_level": "warning"}))
        self.log_path = workdir / f"serve-{self.port}.log"
        self.proc: _subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> "ServerProcess":
        return self.launch().wait_ready(timeout)

    def launch(self) -> "ServerProcess":
        self._log = self.log_path.open("ab")
        self.proc = _subprocess.Popen(
            [_sys.executable, "-m", "guardagent.cli", "serve", "--config", str(self.config_path)],
            stdout=self._log, stderr=_subprocess.STDOUT, env=cli_env(),
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> "ServerProcess":
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"server did not become ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(_signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(_signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except _subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if hasattr(self, "_log") and not self._log.closed:
            self._log.close()

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
