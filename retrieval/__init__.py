"""citybot's pure search core.

Owns Japanese text normalisation, FAQ CSV loading, encoders, the BM25 and FAISS
stores, score fusion and the on-disk index with its manifest. It takes and returns
plain data (numpy arrays, dataclasses) and must never import flask, rasa, rasa_sdk,
bot or actions (checked by import-linter).

This ``__init__`` stays import-free on purpose: the Rasa runtime (Python 3.10,
other numpy) imports :mod:`retrieval.textnorm` from here and must not pull in faiss.
"""
