"""Proof that the extension point keeps CLI adapters small: a stream-json adapter sketch.

Not the real Claude Code adapter (that is the next issue); a stand-in CLI
(a Python one-liner) prints stream-json-like events and the adapter is ~20 lines.
"""

from __future__ import annotations

import json
import sys

from shoal.agents import (
    BaseAgent,
    ErrorKind,
    Invocation,
    ResultSource,
    ResultStatus,
    StructuredResult,
    json_lines,
    prompt_file,
    shoal_env,
)

RESULT_EVENT = {
    "type": "result", "subtype": "success", "is_error": False, "num_turns": 4,
    "session_id": "abc", "total_cost_usd": 0.12,
    "usage": {"input_tokens": 1000, "output_tokens": 200},
    "permission_denials": [{"tool_name": "Bash"}],
    "result": "Done.\n```json\n{\"status\": \"pass\", \"notes\": \"added auth\"}\n```\nTASK COMPLETE",
}


class StreamJsonAgent(BaseAgent):
    name = "stream-json-sketch"

    def prepare(self, request):
        path, data = prompt_file(request)
        events = [{"type": "system", "subtype": "init"}, self.settings["event"]]
        code = f"print({json.dumps(chr(10).join(json.dumps(e) for e in events))})"
        return Invocation(argv=(sys.executable, "-c", code), env=shoal_env(request),
                          files={path: data})

    def structured(self, outcome):
        for event in json_lines(outcome.tail()):
            if event.get("type") == "result":
                usage = event.get("usage") or {}
                return StructuredResult(
                    ok=not event.get("is_error"), text=event.get("result") or "",
                    error=ErrorKind.CRASH if event.get("is_error") else None,
                    session_id=event.get("session_id"), turns=event.get("num_turns"),
                    tokens_in=usage.get("input_tokens"), tokens_out=usage.get("output_tokens"),
                    cost_usd=event.get("total_cost_usd"),
                    permission_denials=tuple(d.get("tool_name", "") for d in
                                             event.get("permission_denials") or ()),
                )
        return None


def test_sketch_adapter_end_to_end(make_request, run):
    agent = StreamJsonAgent({"event": RESULT_EVENT})
    result = agent.interpret(run(agent.prepare(make_request())))
    assert (result.status, result.source, result.summary) == (
        ResultStatus.SUCCEEDED, ResultSource.REPORT, "added auth")
    assert (result.session_id, result.turns, result.tokens_in, result.tokens_out) == (
        "abc", 4, 1000, 200)
    assert result.cost_usd == 0.12 and result.permission_denials == ("Bash",)


def test_sketch_adapter_error_event(make_request, run):
    event = {**RESULT_EVENT, "is_error": True, "subtype": "error_max_turns", "result": ""}
    agent = StreamJsonAgent({"event": event})
    result = agent.interpret(run(agent.prepare(make_request())))
    assert (result.status, result.source, result.error) == (
        ResultStatus.FAILED, ResultSource.STRUCTURED, ErrorKind.CRASH)
    assert result.summary == "the agent reported an error"
