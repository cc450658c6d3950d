"""ask_question examples are generated from the FAQ CSVs, as valid Rasa NLU YAML."""

from __future__ import annotations

import yaml

from bot.nlu_data import faq_examples, render_nlu_yaml
from retrieval.faq import parse_faq_csv
from tests.conftest import TINY_FAQ


def test_examples_include_questions_and_alternatives_once():
    entries = parse_faq_csv(TINY_FAQ)
    examples = faq_examples(entries + entries)
    assert "粗大ごみはどうやって出せばいいですか。" in examples
    assert "大きいごみを捨てたい" in examples
    assert len(examples) == len(set(examples)) == 7


def test_rendered_yaml_round_trips_with_awkward_text():
    examples = ['引用符"や: コロン', "# ハッシュ", "- ハイフン", "{波括弧}", "[粗大ごみ](entity)"]
    data = yaml.safe_load(render_nlu_yaml(examples))
    block = data["nlu"][0]
    assert block["intent"] == "ask_question"
    lines = [line[2:] for line in block["examples"].splitlines()]
    assert lines[:4] == examples[:4]
    assert lines[4] == "［粗大ごみ］(entity)"  # never read as Rasa entity markup
