"""Gemini's ``generateContent`` and ``streamGenerateContent`` (Gemini CLI).

Gemini CLI reaches a local server with ``GOOGLE_GEMINI_BASE_URL`` (its "gateway" auth: no key
needed). Tools: ``read_file``, ``write_file``, ``run_shell_command``; the parameter names are
taken from the tool declarations the CLI sends. Requests without tools (Gemini CLI's routing
and next-speaker checks ask for JSON) get a small harmless JSON or text answer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .script import Entry
from .wire import Request, Response
from .worker import Conversation, Step

NAME = "gemini"
_ROUTE = re.compile(r"/models/([^/:]+):(generateContent|streamGenerateContent|countTokens)$")
ERRORS = {
    "auth": (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
             [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
               "domain": "googleapis.com",
               "metadata": {"service": "generativelanguage.googleapis.com"}}]),
    "billing": (429, "RESOURCE_EXHAUSTED", (
        "You exceeded your current quota, please check your plan and billing details."), []),
    "rate_limit": (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", []),
    "overloaded": (503, "UNAVAILABLE", "The model is overloaded. Please try again later.", []),
    "server": (500, "INTERNAL", (
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"), []),
}
_STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}


def handle(request: Request, turn: Any) -> Response | None:
    match = _ROUTE.search(request.path)
    if request.method != "POST" or not match:
        return None
    model, method = match.groups()
    body = request.json()
    if method == "countTokens":
        return Response.json({"totalTokens": max(1, len(request.body) // 4)})
    stream = method == "streamGenerateContent"
    conversation = conversation_of(body)
    declarations = {d.get("name"): d for tool in body.get("tools") or []
                    for d in tool.get("functionDeclarations") or []}
    if not declarations:
        return turn.side(conversation, lambda entry: _respond(
            [{"text": _side_text(body)}], entry, model, stream), error)
    return turn.answer(conversation, lambda step, entry: _respond(
        [_part(step, declarations)], entry, model, stream), error)


def error(kind: str, status: int | None = None) -> Response:
    code, name, message, details = ERRORS[kind]
    code = status or code
    name = _STATUS_NAMES.get(code, name) if status else name
    return Response.json({"error": {"code": code, "message": message, "status": name,
                                    **({"details": details} if details else {})}}, code)


def _side_text(body: dict[str, Any]) -> str:
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json" or config.get("responseJsonSchema") \
            or config.get("responseSchema"):
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        props = schema.get("properties") or {}
        answer: dict[str, Any] = {}
        for name, prop in props.items():
            enum = prop.get("enum")
            if name == "next_speaker":
                answer[name] = "user"
            elif enum:
                answer[name] = enum[0]
            elif str(prop.get("type", "")).lower() in ("number", "integer"):
                answer[name] = 0
            elif str(prop.get("type", "")).lower() == "boolean":
                answer[name] = False
            else:
                answer[name] = "mock"
        return json.dumps(answer)
    return "Mock worker task"


def conversation_of(body: dict[str, Any]) -> Conversation:
    system = body.get("systemInstruction") or body.get("system_instruction") or {}
    texts = [part.get("text", "") for part in (system.get("parts") or []) if isinstance(part, dict)]
    results: list[str | None] = []
    answered: set[str] = set()
    for content in body.get("contents") or []:
        for part in content.get("parts") or []:
            if content.get("role", "user") == "user" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif "functionResponse" in part:
                call = str(part["functionResponse"].get("id") or "")
                if call and call in answered:
                    continue  # a resumed session (0.61.0) sends each earlier result twice
                answered.add(call)
                response = part["functionResponse"].get("response") or {}
                output = response.get("output")
                results.append(output if isinstance(output, str) and "error" not in response else None)
    return Conversation("\n".join(texts), results)


def _param(declaration: dict[str, Any], *names: str) -> str:
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters") or {}
    props = schema.get("properties") or {}
    return next((name for name in names if name in props), names[0])


def _part(step: Step, tools: dict[str, Any]) -> dict[str, Any]:
    if step.kind == "read":
        name = "read_file"
        args = {_param(tools.get(name, {}), "file_path", "absolute_path", "path"): step.path}
    elif step.kind == "write":
        name = "write_file"
        args = {_param(tools.get(name, {}), "file_path", "absolute_path", "path"): step.path,
                "content": step.content}
    elif step.kind == "run":
        name = "run_shell_command"
        args = {"command": step.command, "description": "Run a command"}
    else:
        return {"text": step.text}
    return {"functionCall": {"name": name, "args": args}}


def usage_of(entry: Entry) -> dict[str, int]:
    u = entry.usage
    prompt = u.input_tokens + u.cache_read_tokens
    return {"promptTokenCount": prompt, "candidatesTokenCount": u.output_tokens,
            "cachedContentTokenCount": u.cache_read_tokens,
            "totalTokenCount": prompt + u.output_tokens}


def _respond(parts: list[dict[str, Any]], entry: Entry, model: str, stream: bool) -> Response:
    chunk = {"candidates": [{"content": {"role": "model", "parts": parts},
                             "finishReason": "STOP", "index": 0}],
             "usageMetadata": usage_of(entry), "modelVersion": model,
             "responseId": "mock-response"}
    if not stream:
        return Response.json(chunk)
    return Response.sse([(None, chunk)])
