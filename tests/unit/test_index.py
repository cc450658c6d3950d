"""Index build / load / search, the manifest's refusal of mismatches, FAISS parity."""

from __future__ import annotations

import json

import numpy as np
import pytest

from retrieval.dense import DenseStore
from retrieval.embedding_cache import EmbeddingCache
from retrieval.faq import load_faq_csv
from retrieval.index import IndexMismatchError, _chunks, build_index, load_index, read_manifest
from retrieval.normalizer import Normalizer, NormalizerConfig
from retrieval.registry import IndexRegistry, UnknownAudienceError


@pytest.fixture
def built(tmp_path, tiny_csv, fake_encoder):
    normalizer = Normalizer()
    out = tmp_path / "index" / "resident"
    build_index(load_faq_csv(tiny_csv), out, fake_encoder, normalizer)
    return out, normalizer


def test_search_finds_the_right_entry(built, fake_encoder):
    out, normalizer = built
    index = load_index(out, fake_encoder, normalizer)
    result = index.search("粗大ゴミの出し方を知りたい", k=3)
    assert result.hits[0].faq_id == "R-1"
    assert result.hits[0].url.endswith("sodaigomi.html")
    assert result.hits[0].score > result.hits[1].score
    assert index.search("図書館は何時まで開いていますか").hits[0].faq_id == "R-3"


def test_empty_query_is_unknown(built, fake_encoder):
    out, normalizer = built
    result = load_index(out, fake_encoder, normalizer).search("   ")
    assert result.tier == "unknown" and result.hits == []


def test_manifest_records_configuration(built, fake_encoder):
    out, normalizer = built
    manifest = read_manifest(out)
    assert manifest.model_id == fake_encoder.model_id
    assert manifest.normalizer_fingerprint == normalizer.config.fingerprint
    assert set(manifest.entry_hashes) == {"R-1", "R-2", "R-3"}


def test_other_normaliser_configuration_refuses_to_load(built, fake_encoder):
    out, _ = built
    with pytest.raises(IndexMismatchError, match="normaliser"):
        load_index(out, fake_encoder, Normalizer(NormalizerConfig(split_mode="C")))


def test_other_model_refuses_to_load(built, fake_encoder):
    out, normalizer = built
    fake_encoder.model_id = "another-model"
    with pytest.raises(IndexMismatchError, match="model"):
        load_index(out, fake_encoder, normalizer)


def test_tampered_synonym_table_refuses_to_load(built, fake_encoder):
    out, normalizer = built
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["normalizer"]["textnorm"] = "0000000000000000"
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError):
        load_index(out, fake_encoder, normalizer)


def test_embedding_cache_reembeds_only_changed_text(tmp_path, tiny_csv, fake_encoder):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    entries = load_faq_csv(tiny_csv)
    build_index(entries, tmp_path / "a", fake_encoder, Normalizer(), cache=cache)
    first = fake_encoder.texts_encoded
    assert first > 0
    build_index(entries, tmp_path / "b", fake_encoder, Normalizer(), cache=cache)
    assert fake_encoder.texts_encoded == first  # all cached
    changed = [entries[0].__class__(**(entries[0].to_dict() | {"alt_questions": ("新しい言い方",)})), *entries[1:]]
    build_index(changed, tmp_path / "c", fake_encoder, Normalizer(), cache=cache)
    assert fake_encoder.texts_encoded == first + 1


def test_rebuild_replaces_index_atomically(built, tiny_csv, fake_encoder):
    out, normalizer = built
    entries = load_faq_csv(tiny_csv)[:2]
    build_index(entries, out, fake_encoder, normalizer)
    assert len(load_index(out, fake_encoder, normalizer)) == 2
    assert not out.with_name(out.name + ".tmp").exists()
    assert not out.with_name(out.name + ".old").exists()


def test_faiss_matches_brute_force_numpy():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    store = DenseStore.build(vectors)
    for query in vectors[:20] + 0.1 * rng.normal(size=(20, 32)).astype(np.float32):
        ids, scores = store.search(query, 10)
        expected = np.argsort(-(vectors @ query))[:10]
        assert ids.tolist() == expected.tolist()
        np.testing.assert_allclose(scores, (vectors @ query)[expected], rtol=1e-5)


def test_dense_store_round_trips(tmp_path):
    vectors = np.eye(4, dtype=np.float32)
    DenseStore.build(vectors).save(tmp_path / "v.faiss")
    loaded = DenseStore.load(tmp_path / "v.faiss")
    assert loaded.size == 4
    np.testing.assert_array_equal(loaded.vectors(np.array([2])), vectors[[2]])


def test_long_answers_are_chunked():
    text = "。".join(f"文{i}" * 30 for i in range(20)) + "。"
    chunks = _chunks(text, 200)
    assert len(chunks) > 1 and all(len(c) <= 200 for c in chunks)
    assert "".join(chunks).replace("\n", "") == text


def test_registry_keeps_audiences_apart_and_keeps_last_good(tmp_path, tiny_csv, fake_encoder):
    normalizer = Normalizer()
    build_index(load_faq_csv(tiny_csv), tmp_path / "resident", fake_encoder, normalizer)
    registry = IndexRegistry(tmp_path, encoder=fake_encoder, normalizer=normalizer)
    assert len(registry.get("resident")) == 3
    with pytest.raises(FileNotFoundError):
        registry.get("staff")
    with pytest.raises(UnknownAudienceError):
        registry.get("../resident")
    # a broken new build does not replace the index that is serving
    (tmp_path / "resident" / "entries.jsonl").write_text("{not json")
    (tmp_path / "resident" / "manifest.json").touch()
    import os
    os.utime(tmp_path / "resident" / "manifest.json", ns=(1, 1))
    assert len(registry.get("resident")) == 3


def test_entries_without_question_or_answer_are_judged_by_the_field_they_have(tmp_path, fake_encoder):
    from retrieval.faq import FaqEntry

    entries = [FaqEntry("t1", "", "粗大ごみは事前申込制です。クリーンセンターに申し込んでください。"),
               FaqEntry("t2", "図書館の開館時間は", ""),
               FaqEntry("t3", "住民票の写しの取り方", "市民課の窓口で取得できます。")]
    build_index(entries, tmp_path / "i", fake_encoder, Normalizer())
    index = load_index(tmp_path / "i", fake_encoder, Normalizer())
    hit = index.search("粗大ごみは事前申込制です").hits[0]
    assert hit.faq_id == "t1" and hit.signals["q"] == hit.signals["a"] > 0
    assert index.search("図書館の開館時間は").hits[0].faq_id == "t2"
