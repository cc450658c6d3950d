"""The only place the gateway talks to Rasa (over HTTP, REST channel)."""

from __future__ import annotations

from typing import Any

import requests


class RasaUnavailableError(RuntimeError):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 20.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One user turn; returns Rasa's list of bot messages."""
        try:
            response = self._http.post(
                f"{self.base_url}/webhooks/rest/webhook",
                json={"sender": sender, "message": message, "metadata": metadata},
                timeout=self.timeout,
            )
            response.raise_for_status()
            replies = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise RasaUnavailableError(str(exc)) from exc
        if not isinstance(replies, list):
            raise RasaUnavailableError(f"unexpected reply from Rasa: {type(replies).__name__}")
        return replies

    def healthy(self) -> bool:
        try:
            return self._http.get(f"{self.base_url}/version", timeout=2).ok
        except requests.RequestException:
            return False
