"""The mock model server: its scripted worker, each dialect over real HTTP, errors, records."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.testing.mockmodel import Conversation, MockModel, Script, Worker
from shoal.testing.mockmodel.script import ScriptError
from shoal.testing.mockmodel.worker import files_to_modify, task_id

PROMPT = """# Task Worker: Execute Task alpha

## Task Details
- **ID**: alpha

## Files to Modify
- src/a.txt
- docs/*.md
- b.txt

## Files to Read (do not modify)
- README.md
"""
CWD = "/work/repo"


# -- helpers ------------------------------------------------------------------------------------
def post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None
         ) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers.items())


def sse(raw: bytes) -> list[tuple[str | None, Any]]:
    """Server-sent events as (event name, parsed data)."""
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data.append(line[6:])
        text = "\n".join(data)
        events.append((name, text if text == "[DONE]" else json.loads(text)))
    return events


@pytest.fixture
def mock(tmp_path: Path) -> Iterator[MockModel]:
    with MockModel(log=tmp_path / "requests.jsonl") as server:
        yield server


# -- the worker -----------------------------------------------------------------------------------
def test_the_prompt_names_the_task_and_its_files() -> None:
    assert task_id(PROMPT) == "alpha"
    assert task_id("- **ID**: beta\n") == "beta"
    assert task_id("no task here") is None
    assert files_to_modify(PROMPT) == ["src/a.txt", "b.txt"]  # the glob skipped


def test_the_worker_reads_then_writes_each_file_then_reports() -> None:
    worker = Worker()
    steps = []
    results: list[str | None] = []
    for content in ["one\n", None, None, None]:
        step = worker.next_step(Conversation(PROMPT, list(results)))
        steps.append(step)
        if step.kind == "read":
            results.append(content)
        elif step.kind == "write":
            results.append("written")
    assert [(s.kind, s.path) for s in steps] == [
        ("read", "src/a.txt"), ("write", "src/a.txt"), ("read", "b.txt"), ("write", "b.txt")]
    assert steps[1].content == "one\nedited by alpha\n"
    assert steps[3].content == "edited by alpha\n"  # b.txt did not exist
    final = worker.next_step(Conversation(PROMPT, [*results, "written"]))
    assert final.kind == "final" and final.text.endswith("TASK COMPLETE")
    report = json.loads(final.text.split("```json\n")[1].split("\n```")[0])
    assert report == {"status": "complete", "files_modified": ["src/a.txt", "b.txt"],
                      "test_results": {"ran": 0, "passed": 0, "failed": 0}, "blocker": None,
                      "notes": "mock model worker for task alpha"}


def test_a_file_without_a_final_newline_gets_its_line_on_a_new_one() -> None:
    step = Worker().next_step(Conversation(PROMPT, ["no newline"]))
    assert step.content == "no newline\nedited by alpha\n"


def test_the_script_chooses_actions_and_a_blocked_report() -> None:
    script = Script.parse({"alpha": {
        "actions": [{"run": "make test"}, {"write": "w.txt", "content": "whole\n"},
                    {"append": "a.txt", "line": "hi"}],
        "status": "blocked", "blocker": "needs the schema"}})
    worker = Worker(script)
    kinds = []
    results: list[str | None] = []
    while (step := worker.next_step(Conversation(PROMPT, list(results)))).kind != "final":
        kinds.append((step.kind, step.path or step.command, step.content))
        results.append("x\n" if step.kind == "read" else "ok")
    assert kinds == [("run", "make test", ""), ("read", "w.txt", ""), ("write", "w.txt", "whole\n"),
                     ("read", "a.txt", ""), ("write", "a.txt", "x\nhi\n")]
    report = json.loads(step.text.split("```json\n")[1].split("\n```")[0])
    assert report["status"] == "blocked" and report["blocker"] == "needs the schema"
    assert "TASK COMPLETE" not in step.text


@pytest.mark.parametrize("raw, words", [
    ({"a": {"colour": 1}}, "unknown keys"),
    ({"a": {"status": "done"}}, "status must be"),
    ({"a": {"error": "teapot"}}, "error must be"),
    ({"a": {"actions": [{"delete": "x"}]}}, "needs 'append'"),
    ({"a": {"usage": {"tokens": 1}}}, "usage has unknown keys"),
    (["a"], "mapping"),
])
def test_a_bad_script_is_refused_with_a_reason(raw: Any, words: str) -> None:
    with pytest.raises(ScriptError, match=words):
        Script.parse(raw)


def test_a_script_file_may_be_json_or_yaml(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text("a:\n  error: 429\n  error_times: 2\n")
    (tmp_path / "s.json").write_text('{"*": {"status": "failed"}}')
    entry = Script.load(tmp_path / "s.yaml").entry("a")
    assert (entry.error, entry.error_status, entry.error_times) == ("rate_limit", 429, 2)
    assert Script.load(tmp_path / "s.json").entry("zzz").status == "failed"


# -- Anthropic Messages -------------------------------------------------------------------------
def anthropic_body(messages: list[dict[str, Any]], stream: bool) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 100, "stream": stream,
            "system": [{"type": "text", "text": f"Primary working directory: {CWD}"}],
            "tools": [{"name": "Read"}, {"name": "Write"}, {"name": "Bash"}],
            "messages": messages}


def anthropic_message(raw: bytes, stream: bool) -> dict[str, Any]:
    """The message, rebuilt from the stream's events when streamed."""
    if not stream:
        return json.loads(raw)
    events = sse(raw)
    assert events[0][0] == "message_start"
    assert events[-1][0] == "message_stop"
    message = events[0][1]["message"]
    blocks: dict[int, dict[str, Any]] = {}
    partial: dict[int, str] = {}
    for name, data in events:
        if name == "content_block_start":
            blocks[data["index"]] = dict(data["content_block"])
        elif name == "content_block_delta":
            delta = data["delta"]
            if delta["type"] == "text_delta":
                blocks[data["index"]]["text"] += delta["text"]
            else:
                partial[data["index"]] = partial.get(data["index"], "") + delta["partial_json"]
        elif name == "message_delta":
            message["stop_reason"] = data["delta"]["stop_reason"]
            message["usage"]["output_tokens"] = data["usage"]["output_tokens"]
    for index, text in partial.items():
        blocks[index]["input"] = json.loads(text)
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_reads_strips_line_numbers_writes_and_reports(mock: MockModel, stream: bool) -> None:
    url = f"{mock.url}/v1/messages"
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"type": "text", "text": PROMPT}]}]
    status, raw, headers = post(url, anthropic_body(messages, stream))
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream" if stream else "application/json")
    first = anthropic_message(raw, stream)
    assert first["stop_reason"] == "tool_use"
    (call,) = first["content"]
    assert (call["name"], call["input"]) == ("Read", {"file_path": f"{CWD}/src/a.txt"})
    messages += [{"role": "assistant", "content": first["content"]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call["id"],
                                               "content": "     1\tone\n     2\ttwo\n     3\t"}]}]
    second = anthropic_message(post(url, anthropic_body(messages, stream))[1], stream)
    (write,) = second["content"]
    assert write["name"] == "Write"
    assert write["input"] == {"file_path": f"{CWD}/src/a.txt", "content": "one\ntwo\nedited by alpha\n"}
    messages += [{"role": "assistant", "content": second["content"]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": write["id"],
                                               "content": "updated"}]},
                 {"role": "assistant", "content": [{"type": "tool_use", "id": "r2", "name": "Read",
                                                    "input": {}}]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "r2",
                                               "is_error": True, "content": "File does not exist."}]}]
    third = anthropic_message(post(url, anthropic_body(messages, stream))[1], stream)
    assert third["content"][0]["input"] == {"file_path": f"{CWD}/b.txt", "content": "edited by alpha\n"}
    messages += [{"role": "assistant", "content": third["content"]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "w2", "content": "ok"}]}]
    last = anthropic_message(post(url, anthropic_body(messages, stream))[1], stream)
    assert last["stop_reason"] == "end_turn"
    assert "TASK COMPLETE" in last["content"][0]["text"]
    assert last["usage"] == {"input_tokens": 100, "cache_creation_input_tokens": 0,
                             "cache_read_input_tokens": 0, "output_tokens": 20}
    assert [r["step"] for r in mock.requests] == [
        "read:src/a.txt", "write:src/a.txt", "write:b.txt", "final"]


def test_anthropic_side_requests_and_token_counting(mock: MockModel) -> None:
    status, raw, _ = post(f"{mock.url}/v1/messages", {"model": "haiku", "messages": [
        {"role": "user", "content": "Generate a title"}]})
    assert status == 200 and json.loads(raw)["content"][0]["type"] == "text"
    status, raw, _ = post(f"{mock.url}/v1/messages/count_tokens", {"messages": []})
    assert status == 200 and json.loads(raw)["input_tokens"] > 0
    assert [r["step"] for r in mock.requests] == ["side", None]


# -- OpenAI Responses ---------------------------------------------------------------------------
def responses_body(extra: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": "m", "stream": True, "instructions": "You are codex.",
            "tools": [{"type": "function", "name": "exec_command"}],
            "input": [{"type": "message", "role": "user",
                       "content": [{"type": "input_text", "text": PROMPT}]}, *extra]}


def responses_items(raw: bytes) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events = sse(raw)
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    items = [data["item"] for name, data in events if name == "response.output_item.done"]
    return items, events[-1][1]["response"]["usage"]


def test_responses_reads_and_writes_with_shell_commands(mock: MockModel, tmp_path: Path) -> None:
    url = f"{mock.url}/v1/responses"
    (item,), _ = responses_items(post(url, responses_body([]))[1])
    assert item["type"] == "function_call" and item["name"] == "exec_command"
    command = json.loads(item["arguments"])["cmd"]
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("one\n")
    output = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True,
                            text=True, check=True).stdout
    wrapped = f"Chunk ID: 1\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n{output}"
    done = [item, {"type": "function_call_output", "call_id": item["call_id"], "output": wrapped}]
    (write,), _ = responses_items(post(url, responses_body(done))[1])
    subprocess.run(["bash", "-c", json.loads(write["arguments"])["cmd"]], cwd=tmp_path, check=True)
    assert (tmp_path / "src" / "a.txt").read_text() == "one\nedited by alpha\n"
    # b.txt is missing: the read says so, the write creates it
    done += [write, {"type": "function_call_output", "call_id": write["call_id"], "output": ""}]
    (read_b,), _ = responses_items(post(url, responses_body(done))[1])
    output = subprocess.run(["bash", "-c", json.loads(read_b["arguments"])["cmd"]], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    done += [read_b, {"type": "function_call_output", "call_id": read_b["call_id"], "output": output}]
    (write_b,), _ = responses_items(post(url, responses_body(done))[1])
    subprocess.run(["bash", "-c", json.loads(write_b["arguments"])["cmd"]], cwd=tmp_path, check=True)
    assert (tmp_path / "b.txt").read_text() == "edited by alpha\n"
    done += [write_b, {"type": "function_call_output", "call_id": write_b["call_id"], "output": ""}]
    (message,), usage = responses_items(post(url, responses_body(done))[1])
    assert message["type"] == "message" and "TASK COMPLETE" in message["content"][0]["text"]
    assert usage["input_tokens"] == 100 and usage["output_tokens"] == 20


# -- Chat Completions ---------------------------------------------------------------------------
def chat_body(messages: list[dict[str, Any]], stream: bool, tools: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"model": "mock-model", "stream": stream, "messages": messages}
    if tools:
        body["tools"] = [{"type": "function", "function": {
            "name": name, "parameters": {"properties": {"filePath": {}, "content": {}}}}}
            for name in ("read", "write", "bash")]
    return body


def chat_reply(raw: bytes, stream: bool) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """(message, finish reason, usage), the message rebuilt from the chunks when streamed."""
    if not stream:
        data = json.loads(raw)
        return data["choices"][0]["message"], data["choices"][0]["finish_reason"], data["usage"]
    events = sse(raw)
    assert events[-1][1] == "[DONE]"
    message: dict[str, Any] = {"content": "", "tool_calls": []}
    finish = usage = None
    for _, chunk in events[:-1]:
        usage = chunk.get("usage") or usage
        for choice in chunk["choices"]:
            message["content"] += choice["delta"].get("content") or ""
            message["tool_calls"] += choice["delta"].get("tool_calls") or []
            finish = choice["finish_reason"] or finish
    assert finish and usage
    return message, finish, usage


@pytest.mark.parametrize("stream", [False, True])
def test_chat_with_tools_reads_opencode_results_and_writes(mock: MockModel, stream: bool) -> None:
    url = f"{mock.url}/v1/chat/completions"
    messages: list[dict[str, Any]] = [{"role": "system", "content": "You are opencode"},
                                      {"role": "user", "content": PROMPT}]
    message, finish, _ = chat_reply(post(url, chat_body(messages, stream))[1], stream)
    (call,) = message["tool_calls"]
    assert finish == "tool_calls" and call["function"]["name"] == "read"
    assert json.loads(call["function"]["arguments"]) == {"filePath": "src/a.txt"}
    result = "<path>/r/src/a.txt</path>\n<type>file</type>\n<content>\n1: one\n2: two\n\n(End of file - total 2 lines)\n</content>"
    messages += [{"role": "assistant", "tool_calls": [call]},
                 {"role": "tool", "tool_call_id": call["id"], "content": result}]
    message, _, usage = chat_reply(post(url, chat_body(messages, stream))[1], stream)
    args = json.loads(message["tool_calls"][0]["function"]["arguments"])
    assert args == {"filePath": "src/a.txt", "content": "one\ntwo\nedited by alpha\n"}
    assert usage["prompt_tokens"] == 100 and usage["completion_tokens"] == 20


@pytest.mark.parametrize("edit_format", ["diff", "whole"])
def test_chat_without_tools_answers_aider_in_its_edit_format(mock: MockModel, edit_format: str) -> None:
    system = ("Act as an expert software developer. Use SEARCH/REPLACE blocks." if edit_format == "diff"
              else "Act as an expert software developer. Return the entire file listing.")
    chat = ("I have *added these files to the chat*\n\nsrc/a.txt\n```\none\ntwo\n```\n\nb.txt\n```\n```\n")
    messages = [{"role": "system", "content": system}, {"role": "user", "content": chat},
                {"role": "user", "content": PROMPT}]
    message, finish, _ = chat_reply(post(f"{mock.url}/v1/chat/completions",
                                         chat_body(messages, False, tools=False))[1], False)
    text = message["content"]
    assert finish == "stop"
    if edit_format == "diff":
        assert "src/a.txt\n```\n<<<<<<< SEARCH\none\ntwo\n=======\none\ntwo\nedited by alpha\n>>>>>>> REPLACE\n```" in text
        assert "b.txt\n```\n<<<<<<< SEARCH\n=======\nedited by alpha\n>>>>>>> REPLACE\n```" in text
        assert "```json\n" in text
    else:
        assert "src/a.txt\n```\none\ntwo\nedited by alpha\n```" in text
        assert "b.txt\n```\nedited by alpha\n```" in text
        assert "```json" not in text
        report = json.loads(text.split("shoal-report: ")[1].splitlines()[0])
        assert report["status"] == "complete"
    assert text.rstrip().endswith("TASK COMPLETE")
    # aider's commit message request is a side request
    post(f"{mock.url}/v1/chat/completions", chat_body([
        {"role": "system", "content": "You are an expert software engineer that generates concise, "
                                      "one-line Git commit messages"},
        {"role": "user", "content": "diff --git a/a b/a"}], False, tools=False))
    assert [r["step"] for r in mock.requests] == ["edits", "side"]


# -- Gemini -------------------------------------------------------------------------------------
def gemini_body(contents: list[dict[str, Any]]) -> dict[str, Any]:
    return {"systemInstruction": {"parts": [{"text": "You are Gemini CLI"}]},
            "tools": [{"functionDeclarations": [
                {"name": "read_file", "parametersJsonSchema": {"properties": {"file_path": {}}}},
                {"name": "write_file", "parametersJsonSchema": {"properties": {"file_path": {}, "content": {}}}},
                {"name": "run_shell_command"}]}],
            "contents": [{"role": "user", "parts": [{"text": PROMPT}]}, *contents]}


@pytest.mark.parametrize("method", ["generateContent", "streamGenerateContent"])
def test_gemini_calls_functions_and_reports(mock: MockModel, method: str) -> None:
    url = f"{mock.url}/v1beta/models/gemini-x:{method}" + ("?alt=sse" if "stream" in method else "")

    def call(contents: list[dict[str, Any]]) -> dict[str, Any]:
        raw = post(url, gemini_body(contents))[1]
        return sse(raw)[-1][1] if "stream" in method else json.loads(raw)

    first = call([])
    part = first["candidates"][0]["content"]["parts"][0]
    assert part == {"functionCall": {"name": "read_file", "args": {"file_path": "src/a.txt"}}}
    history = [{"role": "model", "parts": [part]},
               {"role": "user", "parts": [{"functionResponse": {"name": "read_file",
                                                                 "response": {"output": "one\n"}}}]}]
    second = call(history)["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert second["args"] == {"file_path": "src/a.txt", "content": "one\nedited by alpha\n"}
    history += [{"role": "model", "parts": [{"functionCall": second}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "write_file", "response": {"output": "ok"}}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "read_file", "args": {}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "read_file", "response": {
                    "error": "File not found"}}}]}]
    third = call(history)["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert third["args"]["content"] == "edited by alpha\n"
    history += [{"role": "model", "parts": [{"functionCall": third}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "write_file", "response": {"output": "ok"}}}]}]
    last = call(history)
    assert "TASK COMPLETE" in last["candidates"][0]["content"]["parts"][0]["text"]
    assert last["usageMetadata"]["promptTokenCount"] == 100


def test_gemini_side_requests_get_json_their_schema_asks_for(mock: MockModel) -> None:
    status, raw, _ = post(f"{mock.url}/v1beta/models/flash:generateContent", {
        "contents": [{"role": "user", "parts": [{"text": "route this"}]}],
        "generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
            "properties": {"complexity_score": {"type": "NUMBER"}, "next_speaker": {"type": "string"},
                           "model_choice": {"type": "string", "enum": ["flash", "pro"]}}}}})
    answer = json.loads(json.loads(raw)["candidates"][0]["content"]["parts"][0]["text"])
    assert answer == {"complexity_score": 0, "next_speaker": "user", "model_choice": "flash"}
    status, raw, _ = post(f"{mock.url}/v1beta/models/flash:countTokens", {"contents": []})
    assert status == 200 and json.loads(raw)["totalTokens"] > 0


# -- errors, usage, delay, records --------------------------------------------------------------
def test_each_dialect_gives_its_real_error_shapes() -> None:
    script = {"*": {"error": "auth"}, "alpha": {"error": "rate_limit"}}
    with MockModel(script) as mock:
        status, raw, headers = post(f"{mock.url}/v1/messages", anthropic_body(
            [{"role": "user", "content": PROMPT}], False))
        assert status == 429 and json.loads(raw)["error"]["type"] == "rate_limit_error"
        assert json.loads(raw)["type"] == "error" and "request-id" in headers
        status, raw, _ = post(f"{mock.url}/v1/messages", anthropic_body(
            [{"role": "user", "content": "no task"}], False))
        assert status == 401 and json.loads(raw)["error"]["type"] == "authentication_error"
        status, raw, _ = post(f"{mock.url}/v1/responses", responses_body([]))
        assert status == 429 and json.loads(raw)["error"]["code"] == "rate_limit_exceeded"
        status, raw, _ = post(f"{mock.url}/v1/chat/completions", chat_body(
            [{"role": "user", "content": "x"}], True))
        assert status == 401 and json.loads(raw)["error"]["code"] == "invalid_api_key"
        status, raw, _ = post(f"{mock.url}/v1beta/models/g:generateContent", gemini_body([]))
        assert status == 429 and json.loads(raw)["error"]["status"] == "RESOURCE_EXHAUSTED"
        status, raw, _ = post(f"{mock.url}/v1beta/models/g:generateContent",
                              {**gemini_body([]), "contents": [{"role": "user", "parts": [{"text": "x"}]}]})
        assert status == 400 and json.loads(raw)["error"]["details"][0]["reason"] == "API_KEY_INVALID"
        assert [r["step"] for r in mock.requests] == ["error:rate_limit", "error:auth", "error:rate_limit",
                                                      "error:auth", "error:rate_limit", "error:auth"]


@pytest.mark.parametrize("error, status, kind", [
    ("billing", 400, "invalid_request_error"), ("overloaded", 529, "overloaded_error"),
    ("server", 500, "api_error"), (402, 402, "invalid_request_error")])
def test_anthropic_billing_overload_and_server_errors(error: Any, status: int, kind: str) -> None:
    with MockModel({"*": {"error": error}}) as mock:
        code, raw, _ = post(f"{mock.url}/v1/messages", anthropic_body([{"role": "user", "content": PROMPT}], True))
    assert code == status and json.loads(raw)["error"]["type"] == kind
    if error == "billing":
        assert "credit balance is too low" in json.loads(raw)["error"]["message"]


def test_counted_errors_then_answers_with_scripted_usage_after_a_delay() -> None:
    usage = {"input_tokens": 7, "output_tokens": 3, "cache_read_tokens": 11, "cache_write_tokens": 5}
    with MockModel({"alpha": {"error": 529, "error_times": 2, "usage": usage, "delay": 0.2}}) as mock:
        body = anthropic_body([{"role": "user", "content": PROMPT}], False)
        codes = [post(f"{mock.url}/v1/messages", body)[0] for _ in range(2)]
        started = time.monotonic()
        code, raw, _ = post(f"{mock.url}/v1/messages", body)
        assert time.monotonic() - started >= 0.2
    assert codes == [529, 529] and code == 200
    assert json.loads(raw)["usage"] == {"input_tokens": 7, "cache_creation_input_tokens": 5,
                                        "cache_read_input_tokens": 11, "output_tokens": 3}


def test_every_request_is_recorded_in_memory_and_as_jsonl(mock: MockModel, tmp_path: Path) -> None:
    post(f"{mock.url}/v1/messages", anthropic_body([{"role": "user", "content": PROMPT}], False))
    with urllib.request.urlopen(f"{mock.url}/v1/models", timeout=10) as response:
        assert json.loads(response.read())["data"] == []
    assert post(f"{mock.url}/telemetry/anything", {"x": 1})[0] == 200
    assert mock.recorder.wait_for(3, timeout=5)
    records = mock.requests
    assert [(r["method"], r["path"], r["dialect"], r["task"], r["step"]) for r in records] == [
        ("POST", "/v1/messages", "anthropic", "alpha", "read:src/a.txt"),
        ("GET", "/v1/models", None, None, None),
        ("POST", "/telemetry/anything", None, None, None)]
    assert records[0]["body"]["model"] == "claude-x"
    logged = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [r["path"] for r in logged] == [r["path"] for r in records]
    assert mock.model_requests("alpha") == records[:1]


# -- pointing the CLIs at it --------------------------------------------------------------------
def test_settings_point_each_cli_at_the_mock(mock: MockModel) -> None:
    assert mock.env_for("claude")["ANTHROPIC_BASE_URL"] == mock.url
    codex = mock.agent_settings_for("codex")
    assert codex["config"]["model_providers.mock.base_url"] == f"{mock.url}/v1"
    assert all(not isinstance(v, dict) for v in codex["config"].values())  # shoal wants dotted keys
    gemini = mock.env_for("gemini")
    settings = json.loads(Path(gemini["GEMINI_CLI_SYSTEM_SETTINGS_PATH"]).read_text())
    assert settings["security"]["auth"]["selectedType"] == "gemini-api-key"
    opencode = json.loads(mock.env_for("opencode")["OPENCODE_CONFIG_CONTENT"])
    assert opencode["provider"]["mock"]["options"]["baseURL"] == f"{mock.url}/v1"
    assert mock.agent_settings_for("aider")["extra_args"][:2] == ["--openai-api-base", f"{mock.url}/v1"]
    with pytest.raises(ValueError, match="no such CLI"):
        mock.env_for("vim")


def test_the_command_serves_and_prints_how_to_reach_it(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "shoal.testing.mockmodel", "--log", str(log)],
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until the server prints; the test's timeout bounds it
        url = first.split()[-1]
        assert first.startswith("mock model serving at http://127.0.0.1:")
        lines = [process.stdout.readline() for _ in range(8)]
        assert f"export ANTHROPIC_BASE_URL={url}\n" in lines
        assert post(f"{url}/v1/messages", anthropic_body([{"role": "user", "content": PROMPT}], False))[0] == 200
        assert json.loads(log.read_text().splitlines()[0])["step"] == "read:src/a.txt"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_command_refuses_a_bad_script(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"a": {"status": "maybe"}}')
    done = subprocess.run([sys.executable, "-m", "shoal.testing.mockmodel", "--script",
                           str(tmp_path / "bad.json")], check=False, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "status must be" in done.stderr
    helped = subprocess.run([sys.executable, "-m", "shoal.testing.mockmodel", "--help"],
                            check=False, capture_output=True, text=True, timeout=30)
    assert "no API key" in helped.stdout and "--script" in helped.stdout
