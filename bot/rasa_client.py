"""The only place the gateway talks to Rasa (over HTTP, REST channel)."""

from __future__ import annotations

import time
from typing import Any

import requests


class RasaUnavailableError(RuntimeError):
    """Rasa did not answer in time or answered with an error."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 20.0, retry_seconds: float = 15.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self._http = requests.Session()

    def send(self, sender: str, message: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """One user turn; returns Rasa's list of bot messages.

        A refused connection (Rasa restarting) is retried with backoff for up to
        ``retry_seconds``; a timeout or an error reply is not (the turn may have run).
        """
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.25
        while True:
            try:
                response = self._http.post(
                    f"{self.base_url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": message, "metadata": metadata},
                    timeout=self.timeout,
                )
                response.raise_for_status()
                replies = response.json()
                break
            except requests.ConnectionError as exc:
                if time.monotonic() + delay > deadline:
                    raise RasaUnavailableError(str(exc)) from exc
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
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
