"""Intent classification and dialogue gates, with Rasa's own tools on the trained model:
the held-out NLU set (data/eval/nlu.test.yml, written blind) and the conversation test
stories (tests/test_conversations.yml, --fail-on-prediction-errors)."""

from __future__ import annotations

import pytest

from bot.nlu_data import generate
from bot.rasa_checks import count_test_stories, nlu_report, run_conversation_tests
from bot.settings import REPO_ROOT, load_settings
from bot.training import train

pytestmark = pytest.mark.eval


@pytest.fixture(scope="module")
def model():
    settings = load_settings()
    generate(settings)
    return settings, train(settings)[0]


def test_held_out_intents_meet_the_gates(model, tmp_path):
    settings, path = model
    report = nlu_report(settings, REPO_ROOT / "data/eval/nlu.test.yml", path, tmp_path)
    assert report["examples"] >= 300
    assert report["macro_f1_scripted"] >= 0.90, report["intents"]
    assert report["out_of_scope_recall"] >= 0.90, report["intents"]["out_of_scope"]


def test_conversation_stories_pass_without_prediction_errors(model, tmp_path):
    settings, path = model
    stories = REPO_ROOT / "tests/test_conversations.yml"
    assert count_test_stories(stories) >= 15
    passed, failed = run_conversation_tests(settings, stories, path, tmp_path)
    assert passed, failed


def test_a_wrong_story_is_caught(model, tmp_path):
    """The gate can fail: a story expecting the wrong action is reported."""
    settings, path = model
    wrong = tmp_path / "wrong.yml"
    wrong.write_text('version: "3.1"\nstories:\n  - story: greeting answered with goodbye\n    steps:\n'
                     '      - user: |\n          こんにちは\n        intent: greet\n      - action: utter_goodbye\n',
                     encoding="utf-8")
    passed, failed = run_conversation_tests(settings, wrong, path, tmp_path / "out")
    assert not passed and "utter_goodbye" in failed
