"""OpenAI Chat Completions (aider via litellm, OpenCode via @ai-sdk/openai-compatible)."""

from __future__ import annotations

from typing import Any

from .wire import Request, Response

NAME = "chat"
OPENAI_ERRORS = {
    "auth": (401, {"message": "Incorrect API key provided: x. You can find your API key at "
                   "https://platform.openai.com/account/api-keys.",
                   "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}),
    "billing": (429, {"message": "You exceeded your current quota, please check your plan and "
                      "billing details.", "type": "insufficient_quota", "param": None,
                      "code": "insufficient_quota"}),
    "rate_limit": (429, {"message": "Rate limit reached for requests. Please try again in 1s.",
                         "type": "requests", "param": None, "code": "rate_limit_exceeded"}),
    "overloaded": (503, {"message": "The engine is currently overloaded, please try again later.",
                         "type": "server_error", "param": None, "code": None}),
    "server": (500, {"message": "The server had an error while processing your request.",
                     "type": "server_error", "param": None, "code": None}),
}


def openai_error(kind: str, status: int | None = None) -> Response:
    code, error = OPENAI_ERRORS[kind]
    return Response.json({"error": error}, status or code)


def handle(request: Request, turn: Any) -> Response | None:
    return None
