"""Rasa-side add-ons (imported by the Rasa server in .venv-rasa, Python 3.10 only)."""
