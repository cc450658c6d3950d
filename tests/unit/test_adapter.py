"""The learned query→answer map recovers a question→answer relation from the pairs alone."""

from __future__ import annotations

import numpy as np

from retrieval.adapter import AnswerMap


def test_map_sends_a_question_to_its_own_answer():
    rng = np.random.default_rng(0)
    n, dim = 200, 32
    questions = rng.normal(size=(n, dim))
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    answers = questions @ rotation + 0.05 * rng.normal(size=(n, dim))  # answers live "elsewhere"
    vectors = np.vstack([questions, answers]).astype(np.float32)
    owners = np.concatenate([np.arange(n), np.arange(n)])
    is_question = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    answer_map = AnswerMap(vectors, owners, is_question, n, ridge=0.1)
    hits = 0
    for i in range(n):
        query = questions[i] + 0.3 * rng.normal(size=dim)  # a paraphrase of question i
        query = (query / np.linalg.norm(query)).astype(np.float32)
        hits += int(np.argmax(answer_map.scores(query, np.arange(n))) == i)
        # without the map the raw query is nearly orthogonal to its own answer
    assert hits / n > 0.9


def test_entries_missing_a_field_fall_back_to_the_other():
    vectors = np.eye(4, dtype=np.float32)
    owners = np.array([0, 1, 1, 2])  # entry 0: question only; entry 2: answer only
    is_question = np.array([True, True, False, False])
    answer_map = AnswerMap(vectors, owners, is_question, 3)
    assert np.isfinite(answer_map.answers).all() and np.isfinite(answer_map.map).all()
    np.testing.assert_allclose(np.linalg.norm(answer_map.answers, axis=1), 1.0, rtol=1e-5)
