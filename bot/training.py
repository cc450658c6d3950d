"""Trains the Rasa model in ``.venv-rasa`` when its inputs changed (content hash)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

from bot.settings import REPO_ROOT, resolve

TRAINING_INPUTS = ("config.yml", "domain.yml", "data/nlu", "data/rules", "data/stories",
                   "rasa_addons", "retrieval/textnorm.py", "requirements/rasa.lock")
STAMP = ".citybot-training.json"


class TrainingError(RuntimeError):
    pass


def training_hash() -> str:
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = REPO_ROOT / name
        files = sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(REPO_ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def rasa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("OMP_NUM_THREADS", "2")
    return env


def current_model(settings: dict) -> Path | None:
    """The model trained from the current inputs, if there is one."""
    stamp = resolve(settings["MODELS_DIR"]) / STAMP
    if not stamp.exists():
        return None
    data = json.loads(stamp.read_text(encoding="utf-8"))
    model = resolve(settings["MODELS_DIR"]) / data.get("model", "")
    return model if data.get("hash") == training_hash() and model.is_file() else None


def train(settings: dict, force: bool = False, log_file: Path | None = None) -> tuple[Path, bool]:
    """Return (model path, trained now?). Output of ``rasa train`` goes to ``log_file``."""
    if not force and (model := current_model(settings)):
        return model, False
    models = resolve(settings["MODELS_DIR"])
    models.mkdir(parents=True, exist_ok=True)
    digest = training_hash()
    name = f"citybot-{digest}.tar.gz"
    command = [str(resolve(settings["RASA_BIN"])), "train", "--data", "data/nlu", "data/rules", "data/stories",
               "--config", "config.yml", "--domain", "domain.yml", "--out", str(models),
               "--fixed-model-name", name.removesuffix(".tar.gz"), "--force"]
    log_file = log_file or resolve("var/log/rasa-train.log")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as log:
        result = subprocess.run(command, cwd=REPO_ROOT, env=rasa_env(), stdout=log, stderr=subprocess.STDOUT)
    model = models / name
    if result.returncode != 0 or not model.is_file():
        raise TrainingError(f"rasa train failed (exit {result.returncode}); see {log_file}")
    (models / STAMP).write_text(json.dumps({"hash": digest, "model": name}), encoding="utf-8")
    return model, True


def load_into_rasa(rasa_url: str, model: Path, timeout: float = 180.0) -> None:
    """Replace the running Rasa server's model over its HTTP API (``PUT /model``) — no restart.
    Rasa keeps serving the old model until the new one is loaded; on failure it keeps the old one."""
    import requests

    try:
        response = requests.put(f"{rasa_url.rstrip('/')}/model", json={"model_file": str(model)}, timeout=timeout)
    except requests.RequestException as exc:
        raise TrainingError(f"Rasa at {rasa_url} did not answer: {exc}") from exc
    if response.status_code not in (200, 204):
        raise TrainingError(f"Rasa refused the model ({response.status_code}): {response.text[:300]}")
