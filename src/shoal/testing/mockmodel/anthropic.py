"""The Anthropic Messages API (Claude Code): ``POST /v1/messages``, streamed or not.

Tools: ``Read`` (its result numbers each line, ``     1\\tcontent``, which is stripped to get
the file back), ``Write`` (Claude Code refuses it on an existing file not read first, hence
the worker's read before each write) and ``Bash``. Paths are made absolute with the working
directory Claude Code names in its system prompt.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from .script import Entry
from .wire import Request, Response
from .worker import Conversation, Step

NAME = "anthropic"
_CWD = re.compile(r"(?:Primary working directory|Working directory):\s*(\S+)")
_NUMBERED = re.compile(r"^\s*\d+[\t→](.*)$")
ERRORS = {
    "auth": (401, "authentication_error", "invalid x-api-key"),
    "billing": (400, "invalid_request_error", (
        "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
        "Billing to upgrade or purchase credits.")),
    "rate_limit": (429, "rate_limit_error", (
        "Number of request tokens has exceeded your per-minute rate limit "
        "(https://docs.anthropic.com/en/api/rate-limits); see the response headers for "
        "current usage.")),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server": (500, "api_error", "Internal server error"),
}


def handle(request: Request, turn: Any) -> Response | None:
    if request.method != "POST" or not request.path.startswith("/v1/messages"):
        return None
    body = request.json()
    if request.path.endswith("/count_tokens"):
        return Response.json({"input_tokens": max(1, len(request.body) // 4)})
    conversation = conversation_of(body)
    stream = bool(body.get("stream"))
    model = str(body.get("model", "mock"))
    cwd = working_directory(conversation.prompt)
    if not body.get("tools"):
        # a side request (a title, a topic check ...): a short text, never a tool call
        return turn.side(conversation, lambda entry: _message(
            [{"type": "text", "text": "Mock worker task"}], "end_turn", entry, model, stream), error)
    return turn.answer(conversation, lambda step, entry: _message(
        content_of(step, cwd), "tool_use" if step.kind != "final" else "end_turn",
        entry, model, stream), error)


def error(kind: str, status: int | None = None) -> Response:
    code, kind_name, message = ERRORS[kind]
    return Response.json({"type": "error", "error": {"type": kind_name, "message": message},
                          "request_id": f"req_mock{uuid.uuid4().hex[:16]}"},
                         status or code, **{"request-id": f"req_mock{uuid.uuid4().hex[:16]}"})


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(block.get("text", "")) if block.get("type") == "text" else ""
                         for block in content if isinstance(block, dict))
    return ""


def conversation_of(body: dict[str, Any]) -> Conversation:
    texts = [_text(body.get("system", ""))]
    results: list[str | None] = []
    for message in body.get("messages", []):
        content = message.get("content")
        if message.get("role") != "user":
            continue
        if isinstance(content, str):
            texts.append(content)
            continue
        for block in content or []:
            if block.get("type") == "text":
                texts.append(block.get("text", ""))
            elif block.get("type") == "tool_result":
                raw = _text(block.get("content", ""))
                results.append(None if block.get("is_error") else file_content(raw))
    return Conversation("\n".join(texts), results)


def file_content(result: str) -> str | None:
    """A Read result back to the file: the line numbers and system reminders dropped."""
    if "does not exist" in result and not _NUMBERED.match(result.splitlines()[0] if result else ""):
        return None
    lines = [match.group(1) for line in result.split("\n") if (match := _NUMBERED.match(line))]
    return "\n".join(lines)  # a file ending in a newline shows an empty last numbered line


def working_directory(prompt: str) -> str | None:
    match = _CWD.search(prompt)
    return match.group(1) if match else None


def _absolute(path: str, cwd: str | None) -> str:
    return path if path.startswith("/") or not cwd else f"{cwd.rstrip('/')}/{path}"


def content_of(step: Step, cwd: str | None) -> list[dict[str, Any]]:
    call_id = f"toolu_mock{uuid.uuid4().hex[:20]}"
    if step.kind == "read":
        return [{"type": "tool_use", "id": call_id, "name": "Read",
                 "input": {"file_path": _absolute(step.path, cwd)}}]
    if step.kind == "write":
        return [{"type": "tool_use", "id": call_id, "name": "Write",
                 "input": {"file_path": _absolute(step.path, cwd), "content": step.content}}]
    if step.kind == "run":
        return [{"type": "tool_use", "id": call_id, "name": "Bash",
                 "input": {"command": step.command, "description": "Run a command"}}]
    return [{"type": "text", "text": step.text}]


def usage_of(entry: Entry) -> dict[str, int]:
    return {"input_tokens": entry.usage.input_tokens,
            "cache_creation_input_tokens": entry.usage.cache_write_tokens,
            "cache_read_input_tokens": entry.usage.cache_read_tokens,
            "output_tokens": entry.usage.output_tokens}


def _message(content: list[dict[str, Any]], stop: str, entry: Entry, model: str,
             stream: bool) -> Response:
    message = {"id": f"msg_mock{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
               "model": model, "content": content, "stop_reason": stop, "stop_sequence": None,
               "usage": usage_of(entry)}
    if not stream:
        return Response.json(message)
    start = {**message, "content": [], "stop_reason": None,
             "usage": {**usage_of(entry), "output_tokens": 1}}
    events: list[tuple[str | None, Any]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(content):
        if block["type"] == "text":
            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {"type": "text", "text": ""}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "text_delta", "text": block["text"]}}))
        else:
            import json

            events.append(("content_block_start", {"type": "content_block_start", "index": index,
                                                   "content_block": {**block, "input": {}}}))
            events.append(("content_block_delta", {"type": "content_block_delta", "index": index,
                                                   "delta": {"type": "input_json_delta",
                                                             "partial_json": json.dumps(block["input"])}}))
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(("message_delta", {"type": "message_delta",
                                     "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": entry.usage.output_tokens}}))
    events.append(("message_stop", {"type": "message_stop"}))
    return Response.sse(events)
