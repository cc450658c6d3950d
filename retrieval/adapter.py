"""A query→answer map learned from the FAQ's own question/answer pairs (no test queries).

Ridge regression from each entry's question embedding (mean of its question units,
e5 query side) to its answer embedding (mean of its answer chunks, passage side):
``W = (QᵀQ + λI)⁻¹ QᵀA``. At search time the query embedding is mapped through ``W``
and compared with every candidate's answer: a query–answer relevance signal fitted
on the corpus being searched, so it applies to any FAQ, ours or a benchmark's.
Fitted when an index is loaded (a 384×384 solve; milliseconds for thousands of entries).
"""

from __future__ import annotations

import numpy as np

RIDGE = 0.1


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)


class AnswerMap:
    def __init__(self, vectors: np.ndarray, owners: np.ndarray, is_question: np.ndarray, size: int,
                 ridge: float = RIDGE):
        dim = vectors.shape[1]
        questions = np.zeros((size, dim), np.float64)
        answers = np.zeros((size, dim), np.float64)
        np.add.at(questions, owners[is_question], vectors[is_question])
        np.add.at(answers, owners[~is_question], vectors[~is_question])
        has_q = np.linalg.norm(questions, axis=1) > 0
        has_a = np.linalg.norm(answers, axis=1) > 0
        questions[~has_q] = answers[~has_q]
        answers[~has_a] = questions[~has_a]
        questions, answers = _unit_rows(questions), _unit_rows(answers)
        self.map = np.linalg.solve(questions.T @ questions + ridge * np.eye(dim), questions.T @ answers).astype(np.float32)
        self.answers = answers.astype(np.float32)

    def scores(self, query: np.ndarray, candidates: np.ndarray) -> np.ndarray:
        """Cosine between the mapped query and each candidate's answer."""
        mapped = query @ self.map
        mapped /= max(float(np.linalg.norm(mapped)), 1e-12)
        return self.answers[candidates] @ mapped
