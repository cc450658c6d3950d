"""Starts the three processes (Rasa, action server, gateway) on loopback and stops them.

Used by ``citybot run`` (``make run``) and by the integration tests, so both start the
stack the same way. Each process logs to ``var/log/<name>.log``; the launcher waits for
each health endpoint, reports it, and on Ctrl-C / SIGTERM stops all of them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot.settings import REPO_ROOT, resolve
from bot.training import rasa_env


class LaunchError(RuntimeError):
    pass


@dataclass
class Component:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    healthy_after: float | None = None


@dataclass
class Ports:
    rasa: int = 5005
    actions: int = 5055
    gateway: int = 8000


@dataclass
class Stack:
    """The running processes; use as a context manager or call :meth:`stop`."""

    components: list[Component] = field(default_factory=list)

    def start(self, on_healthy: Callable[[Component], None] | None = None, timeout: float = 240.0,
              health: Callable[[Component], bool] | None = None) -> None:
        for component in self.components:
            component.log_path.parent.mkdir(parents=True, exist_ok=True)
            log = component.log_path.open("w", encoding="utf-8")
            component.process = subprocess.Popen(
                component.command, cwd=REPO_ROOT, env=component.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
            component.started_at = time.monotonic()
        pending = list(self.components)
        deadline = time.monotonic() + timeout
        while pending:
            for component in list(pending):
                if component.process.poll() is not None:
                    self.stop()
                    raise LaunchError(
                        f"{component.name} exited with code {component.process.returncode}; see {component.log_path}"
                    )
                if (health(component) if health else _healthy(component.health_url)):
                    component.healthy_after = time.monotonic() - component.started_at
                    pending.remove(component)
                    if on_healthy:
                        on_healthy(component)
            if time.monotonic() > deadline:
                self.stop()
                names = ", ".join(c.name for c in pending)
                raise LaunchError(f"not healthy after {timeout:.0f} s: {names}; see var/log/")
            time.sleep(0.5)

    def restart(self, name: str, timeout: float = 240.0) -> float:
        """Stop one component (SIGKILL if it does not stop) and start it again; seconds until healthy."""
        component = next(c for c in self.components if c.name == name)
        self._kill(component)
        log = component.log_path.open("a", encoding="utf-8")
        component.process = subprocess.Popen(
            component.command, cwd=REPO_ROOT, env=component.env, stdout=log,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        started = time.monotonic()
        while not _healthy(component.health_url):
            if component.process.poll() is not None or time.monotonic() - started > timeout:
                raise LaunchError(f"{name} did not come back; see {component.log_path}")
            time.sleep(0.25)
        return time.monotonic() - started

    def kill(self, name: str) -> None:
        """SIGKILL one component (for fault tests)."""
        self._kill(next(c for c in self.components if c.name == name), signal.SIGKILL)

    @staticmethod
    def _kill(component: Component, sig: int = signal.SIGTERM) -> None:
        if component.process and component.process.poll() is None:
            try:
                os.killpg(component.process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                component.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(component.process.pid, signal.SIGKILL)
                component.process.wait(5)

    def failed(self) -> Component | None:
        return next((c for c in self.components if c.process and c.process.poll() is not None), None)

    def stop(self, grace: float = 10.0) -> None:
        for component in reversed(self.components):
            if component.process and component.process.poll() is None:
                try:
                    os.killpg(component.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for component in self.components:
            if not component.process:
                continue
            try:
                component.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(component.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                component.process.wait(5)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        return requests.get(url, timeout=1.5).ok
    except requests.RequestException:
        return False


def write_endpoints(ports: Ports, run_dir: Path, tracker_db: Path | None = None) -> Path:
    """Rasa's endpoints: the action server, and a SQLite tracker store so that conversations
    (a form half filled in) survive a Rasa restart."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"endpoints-{ports.rasa}.yml"
    text = f'action_endpoint:\n  url: "http://127.0.0.1:{ports.actions}/webhook"\n'
    if tracker_db is not None:
        tracker_db.parent.mkdir(parents=True, exist_ok=True)
        text += f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tracker_db}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def build_stack(settings: dict, model: Path, ports: Ports | None = None, log_dir: Path | None = None,
                extra_env: dict[str, str] | None = None) -> Stack:
    """The three components bound to 127.0.0.1 (the gateway on ``ports.gateway``)."""
    ports = ports or Ports()
    log_dir = log_dir or resolve("var/log")
    endpoints = write_endpoints(ports, resolve("var/run"), resolve(settings["TRACKER_DB"]) if settings["TRACKER_DB"] else None)
    python_env = dict(os.environ) | (extra_env or {})
    python_env.update({
        "PYTHONPATH": str(REPO_ROOT),
        "OMP_NUM_THREADS": python_env.get("OMP_NUM_THREADS", "1"),
        "CITYBOT_INDEX_ROOT": str(resolve(settings["INDEX_ROOT"])),
        "CITYBOT_ENCODER": settings["ENCODER"],
        "CITYBOT_GARBAGE_DIR": str(resolve(settings["GARBAGE_DIR"])),
        "CITYBOT_PROCEDURES_FILE": str(resolve(settings["PROCEDURES_FILE"])),
        "CITYBOT_DEPARTMENTS_FILE": str(resolve(settings["DEPARTMENTS_FILE"])),
        "CITYBOT_OFFICE_HOURS": settings["OFFICE_HOURS"],
        "CITYBOT_CLOCK": settings["CLOCK"],
        "CITYBOT_RASA_URL": f"http://127.0.0.1:{ports.rasa}",
        "CITYBOT_ACTION_SERVER_URL": f"http://127.0.0.1:{ports.actions}",
    })
    rasa = Component(
        "rasa",
        [str(resolve(settings["RASA_BIN"])), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(ports.rasa),
         "--model", str(model), "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
        f"http://127.0.0.1:{ports.rasa}/version", rasa_env() | (extra_env or {}), log_dir / f"rasa-{ports.rasa}.log",
    )
    actions = Component(
        "action server",
        [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(ports.actions)],
        f"http://127.0.0.1:{ports.actions}/health", python_env | {"SANIC_HOST": "127.0.0.1", "CITYBOT_WARMUP": "1"},
        log_dir / f"actions-{ports.actions}.log",
    )
    gateway = Component(
        "gateway",
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(ports.gateway)],
        f"http://127.0.0.1:{ports.gateway}/livez", python_env, log_dir / f"gateway-{ports.gateway}.log",
    )
    return Stack([rasa, actions, gateway])
