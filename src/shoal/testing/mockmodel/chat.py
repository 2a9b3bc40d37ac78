"""OpenAI Chat Completions, streamed or not: OpenCode (``@ai-sdk/openai-compatible``) and aider
(litellm with an ``openai/<name>`` model).

A request with tools (OpenCode: ``read``, ``write``, ``bash``) gets one tool call per turn; a
request without tools is aider's, answered with every edit at once in aider's edit format
(see :mod:`.edits`), or a side request (aider's commit message) answered with a short line.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from . import edits
from .script import Entry
from .wire import Request, Response
from .worker import Conversation, Step

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
_NUMBERED = re.compile(r"^\s*(\d+)(?:: |:$|\||\t)(.*)$")


def openai_error(kind: str, status: int | None = None) -> Response:
    code, error = OPENAI_ERRORS[kind]
    if status == 402:
        error = {**error, "type": "billing_error", "code": "insufficient_quota",
                 "message": "Your credit balance is too low to access this API."}
    return Response.json({"error": error}, status or code)


def handle(request: Request, turn: Any) -> Response | None:
    if request.method != "POST" or not request.path.rstrip("/").endswith("/chat/completions"):
        return None
    body = request.json()
    model = str(body.get("model", "mock"))
    stream = bool(body.get("stream"))
    messages = body.get("messages") or []
    tools = {t.get("function", {}).get("name"): t.get("function", {}) for t in body.get("tools") or []}
    conversation = conversation_of(messages)
    system = " ".join(content_text(m.get("content")) for m in messages if m.get("role") == "system")
    if tools:
        return turn.answer(conversation, lambda step, entry: _complete(
            *_tool_reply(step, tools), entry, model, stream), openai_error)
    if not edits.is_aider(system) or conversation.task is None:  # a title, a commit message
        return turn.side(conversation, lambda entry: _complete(
            "Edit the files of the task", None, entry, model, stream), openai_error)
    # aider: every edit at once, in the edit format its system prompt teaches
    return turn.answer(conversation, lambda step, entry: _complete(
        edits.reply(turn.worker, conversation, edits.format_of(system), _text_of(messages)),
        None, entry, model, stream), openai_error, label="edits")


def content_text(content: Any) -> str:
    """The text of an OpenAI message's content: a string, or the text parts of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content
                         if isinstance(part, dict) and isinstance(part.get("text"), str))
    return ""


def _text_of(messages: list[dict[str, Any]]) -> str:
    return "\n".join(content_text(m.get("content")) for m in messages if m.get("role") == "user")


def conversation_of(messages: list[dict[str, Any]]) -> Conversation:
    texts: list[str] = []
    results: list[str | None] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "user"):
            texts.append(content_text(message.get("content")))
        elif role == "tool":
            results.append(file_content(content_text(message.get("content"))))
    return Conversation("\n".join(texts), results)


def file_content(result: str) -> str | None:
    """OpenCode's read result back to the file: the numbered lines inside ``<content>``."""
    if "<content>" in result:
        result = result.split("<content>", 1)[1].split("</content>", 1)[0]
    elif "not found" in result.lower() or "does not exist" in result.lower():
        return None
    lines = [m.group(2) for line in result.split("\n") if (m := _NUMBERED.match(line))]
    text = "\n".join(lines)
    return text + "\n" if lines else ""


def _param(function: dict[str, Any], *names: str) -> str:
    props = (function.get("parameters") or {}).get("properties") or {}
    return next((name for name in names if name in props), names[0])


def _tool_reply(step: Step, tools: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    if step.kind == "final":
        return step.text, None
    if step.kind == "read":
        name = "read"
        args: dict[str, Any] = {_param(tools.get(name, {}), "filePath", "file_path", "path"): step.path}
    elif step.kind == "write":
        name = "write"
        args = {_param(tools.get(name, {}), "filePath", "file_path", "path"): step.path,
                "content": step.content}
    else:
        name = "bash"
        args = {"command": step.command, "description": "Run a command"}
    return None, {"id": f"call_mock{uuid.uuid4().hex[:20]}", "type": "function",
                  "function": {"name": name, "arguments": json.dumps(args)}}


def usage_of(entry: Entry) -> dict[str, Any]:
    u = entry.usage
    prompt = u.input_tokens + u.cache_read_tokens
    return {"prompt_tokens": prompt, "completion_tokens": u.output_tokens,
            "total_tokens": prompt + u.output_tokens,
            "prompt_tokens_details": {"cached_tokens": u.cache_read_tokens}}


def _complete(text: str | None, call: dict[str, Any] | None, entry: Entry, model: str,
              stream: bool) -> Response:
    cid = f"chatcmpl-mock{uuid.uuid4().hex[:20]}"
    finish = "tool_calls" if call else "stop"
    base = {"id": cid, "created": int(time.time()), "model": model}
    if not stream:
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if call:
            message["tool_calls"] = [call]
        return Response.json({**base, "object": "chat.completion",
                              "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                              "usage": usage_of(entry)})
    chunk = {**base, "object": "chat.completion.chunk"}
    delta: dict[str, Any] = {"role": "assistant", "content": text if text is not None else ""}
    if call:
        delta["tool_calls"] = [{"index": 0, **call}]
    events: list[tuple[str | None, Any]] = [
        (None, {**chunk, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}),
        (None, {**chunk, "choices": [], "usage": usage_of(entry)}),
    ]
    return Response.sse(events, done=True)
