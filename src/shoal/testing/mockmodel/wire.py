"""The HTTP request and response a dialect sees and gives, and server-sent events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes

    @classmethod
    def make(cls, method: str, target: str, headers: dict[str, str], body: bytes) -> Request:
        path, _, query = target.partition("?")
        return cls(method, path, parse_qs(query), {k.lower(): v for k, v in headers.items()}, body)

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            return {}


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    step: str | None = None  # what the worker did, for the record
    task: str | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Response:
        return cls(status, json.dumps(payload).encode(),
                   {"content-type": "application/json", **headers})

    @classmethod
    def sse(cls, events: list[tuple[str | None, Any]], *, done: bool = False) -> Response:
        """An event stream: ``(event name or None, data)`` each; ``done`` adds ``data: [DONE]``."""
        chunks = []
        for name, data in events:
            text = data if isinstance(data, str) else json.dumps(data)
            chunks.append((f"event: {name}\n" if name else "") + f"data: {text}\n\n")
        if done:
            chunks.append("data: [DONE]\n\n")
        return cls(200, "".join(chunks).encode(),
                   {"content-type": "text/event-stream", "cache-control": "no-cache"})
