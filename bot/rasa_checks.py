"""Quality gates that run Rasa's own tools in ``.venv-rasa``.

- :func:`validate_data`: ``rasa data validate``; every warning must be explained —
  payload-only intents (buttons, never typed), responses that custom actions read
  (checked against ``actions/*.py``) and a form's ``utter_ask_<slot>``; anything else fails.
- :func:`nlu_report`: ``rasa test nlu`` on a held-out file → per-intent precision,
  recall, F1; macro-F1 over the scripted intents; out_of_scope recall.
- :func:`test_conversations`: ``rasa test core --fail-on-prediction-errors`` on the
  conversation test stories.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.settings import REPO_ROOT, resolve
from bot.training import rasa_env

TRAINING_DATA = ["data/nlu", "data/rules", "data/stories"]
SEARCH_INTENT = "ask_question"
_WARNING = re.compile(r"UserWarning: (.+?)(?:\x1b\[0m|$)", re.M)
_INTENT_NOT_IN_NLU = re.compile(r"The intent '(\w+)' is listed in the domain file, but is not found in the NLU")
_UTTERANCE_UNUSED = re.compile(r"The utterance '(\w+)' is not used in any story or rule")


class RasaCheckError(RuntimeError):
    pass


def _rasa(settings: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(resolve(settings["RASA_BIN"])), *args], cwd=REPO_ROOT, env=rasa_env(),
                          capture_output=True, text=True, timeout=timeout)


def payload_only_intents(domain_file: Path = REPO_ROOT / "domain.yml") -> set[str]:
    """Intents only ever sent by buttons: the domain lists them after the typed ones, under a comment."""
    text = domain_file.read_text(encoding="utf-8")
    block = text.split("# payload-only intents", 1)[1].split("\n\n", 1)[0] if "# payload-only intents" in text else ""
    return set(re.findall(r"^\s+- (\w+)$", block, flags=re.M))


def responses_read_by_actions(actions_dir: Path = REPO_ROOT / "actions") -> set[str]:
    return {name for path in actions_dir.glob("*.py") for name in re.findall(r"\"(utter_\w+)\"", path.read_text("utf-8"))}


def form_questions(domain_file: Path = REPO_ROOT / "domain.yml") -> set[str]:
    """``utter_ask_<slot>`` for every slot a form requests (Rasa utters them itself)."""
    forms = (yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}).get("forms") or {}
    return {f"utter_ask_{slot}" for form in forms.values() for slot in (form or {}).get("required_slots", [])}


@dataclass
class ValidationResult:
    ok: bool
    explained: list[str]
    unexplained: list[str]
    output: str


def validate_data(settings: dict) -> ValidationResult:
    result = _rasa(settings, "data", "validate", "--data", *TRAINING_DATA, "--domain", "domain.yml")
    output = result.stdout + result.stderr
    payload_intents = payload_only_intents()
    action_responses = responses_read_by_actions() | form_questions()
    explained, unexplained = [], []
    for warning in _WARNING.findall(output):
        intent = _INTENT_NOT_IN_NLU.search(warning)
        utterance = _UTTERANCE_UNUSED.search(warning)
        if (intent and intent.group(1) in payload_intents) or (utterance and utterance.group(1) in action_responses):
            explained.append(warning)
        else:
            unexplained.append(warning)
    return ValidationResult(result.returncode == 0 and not unexplained, explained, unexplained, output)


def nlu_report(settings: dict, test_file: Path, model: Path, out_dir: Path | None = None) -> dict:
    """Per-intent figures on a held-out NLU file, plus the gates' aggregates."""
    out_dir = out_dir or Path(tempfile.mkdtemp(prefix="citybot-nlu-"))
    result = _rasa(settings, "test", "nlu", "--nlu", str(test_file), "--model", str(model), "--out", str(out_dir),
                   "--no-plot")
    report_file = out_dir / "intent_report.json"
    if result.returncode != 0 or not report_file.exists():
        raise RasaCheckError(f"rasa test nlu failed:\n{(result.stdout + result.stderr)[-3000:]}")
    raw = json.loads(report_file.read_text(encoding="utf-8"))
    intents = {name: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"], "support": v["support"],
                      "confused_with": v.get("confused_with", {})}
               for name, v in raw.items() if isinstance(v, dict) and "support" in v and not name.endswith(" avg")}
    scripted = [v["f1"] for name, v in intents.items() if name != SEARCH_INTENT and v["support"]]
    return {
        "examples": sum(v["support"] for v in intents.values()),
        "accuracy": raw.get("accuracy"),
        "macro_f1_all": sum(v["f1"] for v in intents.values() if v["support"]) / max(1, sum(1 for v in intents.values() if v["support"])),
        "macro_f1_scripted": sum(scripted) / max(1, len(scripted)),
        "out_of_scope_recall": intents.get("out_of_scope", {}).get("recall"),
        "intents": intents,
        "errors_file": str(out_dir / "intent_errors.json"),
    }


def run_conversation_tests(settings: dict, stories: Path, model: Path, out_dir: Path | None = None) -> tuple[bool, str]:
    """Run the conversation test stories; (passed, failed stories as YAML or the log)."""
    out_dir = out_dir or Path(tempfile.mkdtemp(prefix="citybot-stories-"))
    result = _rasa(settings, "test", "core", "--stories", str(stories), "--model", str(model), "--out", str(out_dir),
                   "--fail-on-prediction-errors", "--no-plot")
    failed = out_dir / "failed_test_stories.yml"
    detail = failed.read_text(encoding="utf-8") if failed.exists() else ""
    if result.returncode != 0 and not detail:  # --fail-on-prediction-errors prints the story instead
        detail = result.stdout[-3000:] + "\n" + result.stderr[-1500:]
    return result.returncode == 0, detail


def count_test_stories(stories: Path) -> int:
    return len((yaml.safe_load(stories.read_text(encoding="utf-8")) or {}).get("stories") or [])
