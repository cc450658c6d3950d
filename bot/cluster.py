"""More than one machine's worth of citybot, on loopback, from Debian's packages:

    nginx :public ──> gunicorn (gateway, N workers)
                       │ CITYBOT_RASA_URL = nginx :rasa  ──> Rasa replica 1 … n   (round robin)
                       │                                      │ tracker store: PostgreSQL
                       │                                      │ lock store:    Redis
                       │                                      └─ action endpoint = nginx :actions ──> action server 1 … n
                       └ conversation log + staff DB: PostgreSQL; rate limits: Redis

``python -m bot.cluster up|down`` (``make cluster-up`` / ``make cluster-down``) starts
and stops it under ``var/cluster``; tests use :func:`start_cluster` on free ports.
Every replica shares the conversation state (PostgreSQL) and the per-conversation lock
(Redis), so a conversation — a form half filled in — continues on any replica, also
while one of them is restarted. PostgreSQL runs with trust auth on 127.0.0.1 only:
a demonstration of the topology, see docs/deploy.md for production.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.launcher import Component, LaunchError, Stack, _healthy
from bot.settings import REPO_ROOT, load_settings, resolve
from bot.training import current_model, rasa_env

PG_BIN = Path("/usr/lib/postgresql/15/bin")
STATE_FILE = "cluster.json"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ClusterPorts:
    public: int = 8080
    rasa_lb: int = 5100
    actions_lb: int = 5150
    postgres: int = 55432
    redis: int = 56379
    gateway: int = 8001
    rasa: list[int] = field(default_factory=lambda: [5105, 5106])
    actions: list[int] = field(default_factory=lambda: [5155, 5156])

    @classmethod
    def free(cls, replicas: int = 2) -> ClusterPorts:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port(), free_port(),
                   [free_port() for _ in range(replicas)], [free_port() for _ in range(replicas)])


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _wait(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise LaunchError(f"{what} did not come up")
        time.sleep(0.25)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def nginx_conf(root: Path, ports: ClusterPorts) -> str:
    rasa = "".join(f"    server 127.0.0.1:{p};\n" for p in ports.rasa)
    actions = "".join(f"    server 127.0.0.1:{p};\n" for p in ports.actions)
    return f"""worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp/body;
  proxy_temp_path {root}/tmp/proxy;
  fastcgi_temp_path {root}/tmp/fastcgi;
  uwsgi_temp_path {root}/tmp/uwsgi;
  scgi_temp_path {root}/tmp/scgi;
  log_format upstream '$upstream_addr $status $request_uri';
  upstream rasa {{
{rasa}  }}
  upstream actions {{
{actions}  }}
  server {{  # the public door: the gateway under gunicorn
    listen 127.0.0.1:{ports.public};
    client_max_body_size 21m;
    location / {{ proxy_pass http://127.0.0.1:{ports.gateway}; proxy_set_header Host $host;
                  proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto $scheme; }}
  }}
  server {{  # internal: Rasa replicas (a refused or failed replica is skipped for the next one)
    listen 127.0.0.1:{ports.rasa_lb};
    access_log {root}/rasa-upstream.log upstream;
    location / {{ proxy_pass http://rasa; proxy_read_timeout 60s; proxy_next_upstream error timeout http_502; }}
  }}
  server {{  # internal: action servers
    listen 127.0.0.1:{ports.actions_lb};
    location / {{ proxy_pass http://actions; proxy_read_timeout 60s; proxy_next_upstream error timeout; }}
  }}
}}
"""


def pg_dir(ports: ClusterPorts) -> Path:
    """PostgreSQL's data directory: under /tmp, owned by the postgres user (it cannot enter root's 0700 dirs)."""
    base = Path("/tmp") / f"citybot-pg-{ports.postgres}"
    base.mkdir(exist_ok=True)
    data = base / "data"
    data.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        for path in (base, data):
            shutil.chown(path, "postgres", "postgres")
        data.chmod(0o700)
    return data


def _endpoints(root: Path, ports: ClusterPorts) -> Path:
    path = root / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{ports.actions_lb}/webhook"\n'
        f'tracker_store:\n  type: SQL\n  dialect: "postgresql"\n  url: "127.0.0.1"\n  port: {ports.postgres}\n'
        f'  db: "rasa"\n  username: "postgres"\n  password: ""\n'
        f'lock_store:\n  type: "redis"\n  url: "127.0.0.1"\n  port: {ports.redis}\n  db: 1\n',
        encoding="utf-8")
    return path


@dataclass
class Cluster:
    root: Path
    ports: ClusterPorts
    stack: Stack

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.public}"

    def stop(self) -> None:
        self.stack.stop()
        stop_postgres(self.ports)

    def rasa_replicas_used(self) -> set[str]:
        """The Rasa replicas nginx has sent requests to (from its upstream log)."""
        log = self.root / "rasa-upstream.log"
        return {line.split()[0] for line in log.read_text().splitlines()} if log.exists() else set()


def stop_postgres(ports: ClusterPorts) -> None:
    data = Path("/tmp") / f"citybot-pg-{ports.postgres}" / "data"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                   capture_output=True, timeout=60)
    shutil.rmtree(data.parent, ignore_errors=True)



def start_cluster(root: Path, ports: ClusterPorts | None = None, workers: int = 2, settings: dict | None = None,
                  extra_env: dict[str, str] | None = None) -> Cluster:
    """Start PostgreSQL, Redis, n action servers, n Rasa replicas, gunicorn and nginx; wait until healthy."""
    settings = settings or load_settings()
    ports = ports or ClusterPorts()
    model = current_model(load_settings())
    if model is None:
        raise LaunchError("no trained model: run `citybot nlu train` (or make train) first")
    for binary in ("redis-server", "nginx"):
        if not shutil.which(binary) and not Path(f"/usr/sbin/{binary}").exists():
            raise LaunchError(f"{binary} missing: apt-get install -y redis-server nginx postgresql")
    root.mkdir(parents=True, exist_ok=True)
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi", "log"):
        (root / sub).mkdir(parents=True, exist_ok=True)

    pg = pg_dir(ports)
    if not (pg / "PG_VERSION").exists():
        pg.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(pg, "postgres", "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(pg), "-A", "trust", "-U", "postgres",
                                     "-E", "UTF8", "--no-locale"]), check=True, capture_output=True, timeout=120)
    socket_dir = pg.parent
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(pg), "-l", str(pg.parent / "postgres.log"), "-w",
                                 "-o", f"-p {ports.postgres} -c listen_addresses=127.0.0.1 -k {socket_dir}",
                                 "start"]), check=True, capture_output=True, timeout=120)
    for database in ("rasa", "citybot"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(ports.postgres), "-U", "postgres", "-tc",
                        f"CREATE DATABASE {database}"], capture_output=True, timeout=30)

    (root / "nginx.conf").write_text(nginx_conf(root, ports), encoding="utf-8")
    endpoints = _endpoints(root, ports)
    pg_url = f"postgresql+psycopg://postgres@127.0.0.1:{ports.postgres}/citybot"
    python_env = dict(os.environ) | (extra_env or {}) | {
        "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1",
        "CITYBOT_INDEX_ROOT": str(resolve(settings["INDEX_ROOT"])), "CITYBOT_ENCODER": settings["ENCODER"],
        "CITYBOT_RASA_URL": f"http://127.0.0.1:{ports.rasa_lb}",
        "CITYBOT_ACTION_SERVER_URL": f"http://127.0.0.1:{ports.actions_lb}",
        "CITYBOT_LOG_DB": pg_url, "CITYBOT_STAFF_DB": pg_url,
        "CITYBOT_RATELIMIT_STORAGE": f"redis://127.0.0.1:{ports.redis}/2",
        "CITYBOT_TRUSTED_PROXIES": "1",
        "CITYBOT_SAMPLE_SITE_DIR": str(settings["SAMPLE_SITE_DIR"]),
    }
    logs = root / "log"
    components = [
        Component("redis", ["redis-server", "--port", str(ports.redis), "--bind", "127.0.0.1", "--save", "",
                            "--appendonly", "no"], "", python_env, logs / "redis.log"),
    ]
    for i, port in enumerate(ports.actions):
        components.append(Component(
            f"action server {i + 1}", [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(port)],
            f"http://127.0.0.1:{port}/health", python_env | {"SANIC_HOST": "127.0.0.1", "CITYBOT_WARMUP": "1"},
            logs / f"actions-{port}.log"))
    for i, port in enumerate(ports.rasa):
        components.append(Component(
            f"rasa {i + 1}", [str(resolve(settings["RASA_BIN"])), "run", "--enable-api", "-i", "127.0.0.1", "-p",
                              str(port), "--model", str(model), "--endpoints", str(endpoints),
                              "--credentials", "credentials.yml"],
            f"http://127.0.0.1:{port}/version", rasa_env(), logs / f"rasa-{port}.log"))
    components.append(Component(
        "gateway", [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "-b",
                    f"127.0.0.1:{ports.gateway}", "--timeout", "90", "bot.app:create_app()"],
        f"http://127.0.0.1:{ports.gateway}/livez", python_env, logs / "gateway.log"))
    components.append(Component(
        "nginx", [shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(root), "-c", str(root / "nginx.conf"),
                  "-g", "daemon off;"], f"http://127.0.0.1:{ports.public}/livez", python_env, logs / "nginx.log"))
    stack = Stack(components)
    stack.start(timeout=300, health=lambda c: _port_open(ports.redis) if c.name == "redis" else _healthy(c.health_url))
    return Cluster(root, ports, stack)


def _state(root: Path) -> Path:
    return root / STATE_FILE


def main() -> None:
    root = resolve("var/cluster")
    command = sys.argv[1] if len(sys.argv) > 1 else "up"
    if command == "up":
        cluster = start_cluster(root)
        _state(root).write_text(json.dumps({"pids": [c.process.pid for c in cluster.stack.components]}))
        print(f"cluster ready: {cluster.url}/ (2 Rasa replicas, 2 action servers, gunicorn ×2, nginx, "
              f"PostgreSQL, Redis; logs in {root / 'log'}); stop with make cluster-down")
    elif command == "down":
        state = _state(root)
        for pid in json.loads(state.read_text())["pids"] if state.exists() else []:
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        stop_postgres(ClusterPorts())
        state.unlink(missing_ok=True)
        print("cluster stopped")
    else:
        raise SystemExit("usage: python -m bot.cluster up|down")


if __name__ == "__main__":
    main()
