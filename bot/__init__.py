"""The citybot application: Flask gateway, CLI, settings and process launcher.

Owns everything a resident's browser talks to (the gateway is the one public
door) and the tools maintainers run. Talks to Rasa over HTTP only; may import
:mod:`retrieval` and flask, never :mod:`actions` internals or rasa (import-linter).
"""

from bot.app import create_app

__all__ = ["create_app"]
