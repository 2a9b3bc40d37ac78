"""The OpenAI Responses API (codex): ``POST /v1/responses``, streamed as server-sent events.

codex 0.169.1 offers the model ``exec_command`` (``{"cmd": ...}``; older ones ``shell`` with a
``command`` list) for everything, so reads and writes are shell commands (see :mod:`.shell`);
its results come back as ``function_call_output`` items.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from . import shell
from .chat import content_text, openai_error
from .script import Entry
from .wire import Request, Response
from .worker import Conversation, Step

NAME = "responses"


def handle(request: Request, turn: Any) -> Response | None:
    if request.method != "POST" or not request.path.rstrip("/").endswith("/responses"):
        return None
    body = request.json()
    conversation = conversation_of(body)
    tools = {t.get("name") for t in body.get("tools") or []}
    model = str(body.get("model", "mock"))
    stream = body.get("stream", False)
    if not tools:
        return turn.side(conversation, lambda entry: _respond(
            [_message("Mock worker task")], entry, model, stream), openai_error)
    return turn.answer(conversation, lambda step, entry: _respond(
        [_item(step, tools)], entry, model, stream), openai_error)


def conversation_of(body: dict[str, Any]) -> Conversation:
    texts = [str(body.get("instructions") or "")]
    results: list[str | None] = []
    items = body.get("input") or []
    if isinstance(items, str):
        items = [{"type": "message", "role": "user", "content": items}]
    for item in items:
        kind = item.get("type", "message")
        if kind == "message" and item.get("role") in ("user", "developer", "system"):
            texts.append(content_text(item.get("content")))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            output = item.get("output")
            if isinstance(output, dict):
                output = output.get("content") or output.get("output") or ""
            results.append(shell.file_content(content_text(output)))
    return Conversation("\n".join(texts), results)


def _message(text: str) -> dict[str, Any]:
    return {"type": "message", "id": f"msg_mock{uuid.uuid4().hex[:20]}", "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _item(step: Step, tools: set[Any]) -> dict[str, Any]:
    if step.kind == "final":
        return _message(step.text)
    command = shell.command_of(step)
    call_id = f"call_mock{uuid.uuid4().hex[:20]}"
    arguments: dict[str, Any]
    if "exec_command" in tools or "shell" not in tools:
        name, arguments = "exec_command", {"cmd": command}
    else:
        name, arguments = "shell", {"command": ["bash", "-lc", command]}
    return {"type": "function_call", "id": f"fc_mock{uuid.uuid4().hex[:20]}", "status": "completed",
            "call_id": call_id, "name": name, "arguments": json.dumps(arguments)}


def usage_of(entry: Entry) -> dict[str, Any]:
    u = entry.usage
    return {"input_tokens": u.input_tokens + u.cache_read_tokens,
            "input_tokens_details": {"cached_tokens": u.cache_read_tokens},
            "output_tokens": u.output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": u.input_tokens + u.cache_read_tokens + u.output_tokens}


def _respond(output: list[dict[str, Any]], entry: Entry, model: str, stream: bool) -> Response:
    rid = f"resp_mock{uuid.uuid4().hex[:20]}"
    base = {"id": rid, "object": "response", "created_at": 0, "model": model}
    done = {**base, "status": "completed", "output": output, "usage": usage_of(entry)}
    if not stream:
        return Response.json(done)
    events: list[tuple[str | None, Any]] = [
        ("response.created", {"type": "response.created",
                              "response": {**base, "status": "in_progress", "output": []}})]
    for index, item in enumerate(output):
        events.append(("response.output_item.added", {"type": "response.output_item.added",
                                                      "output_index": index, "item": item}))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            events.append(("response.output_text.delta", {
                "type": "response.output_text.delta", "item_id": item["id"], "output_index": index,
                "content_index": 0, "delta": text}))
        events.append(("response.output_item.done", {"type": "response.output_item.done",
                                                     "output_index": index, "item": item}))
    events.append(("response.completed", {"type": "response.completed", "response": done}))
    return Response.sse(events)
