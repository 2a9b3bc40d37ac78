"""The agent registry: built-ins, registration and helpful errors."""

from __future__ import annotations

import pytest

from shoal.agents import (
    Agent,
    AgentResult,
    AgentSetupError,
    BaseAgent,
    CommandAgent,
    Invocation,
    ScriptAgent,
    UnknownAgentError,
    get_agent,
    known_agents,
    register,
    unregister,
)
from shoal.errors import ExitCode, ShoalError


def test_builtins_are_registered():
    assert {"script", "command"} <= set(known_agents())
    assert isinstance(get_agent("script"), ScriptAgent)
    agent = get_agent("command", {"command": ["x", "{prompt_file}"]})
    assert isinstance(agent, CommandAgent)
    assert isinstance(agent, Agent)  # satisfies the Protocol


def test_unknown_agent_suggests_a_close_name():
    with pytest.raises(UnknownAgentError) as info:
        get_agent("scrpit")
    error = info.value
    assert isinstance(error, ShoalError) and error.exit_code is ExitCode.USAGE
    assert error.message == "unknown agent 'scrpit'"
    assert "did you mean 'script'?" in error.hint
    assert "known agents: aider, claude, codex, command, gemini, opencode, script" in error.hint


def test_unknown_agent_without_close_match_lists_known():
    with pytest.raises(UnknownAgentError) as info:
        get_agent("zzzzzz")
    assert "did you mean" not in info.value.hint
    assert "known agents:" in info.value.hint


def test_bad_settings_fail_when_the_agent_is_built():
    with pytest.raises(AgentSetupError, match="unknown placeholder"):
        get_agent("command", {"command": ["x", "{model}"]})
    with pytest.raises(AgentSetupError, match="stdin"):
        get_agent("command", {"command": ["x"], "stdin": "file"})


class EchoAgent(BaseAgent):
    name = "echo-test"

    def prepare(self, request):
        return Invocation(argv=("echo", request.prompt))


def test_register_a_custom_agent():
    register(EchoAgent)
    try:
        register(EchoAgent)  # the same class again is harmless
        agent = get_agent("echo-test", {"require_report": True})
        assert agent.settings == {"require_report": True}
        assert "echo-test" in known_agents()

        class Other(EchoAgent):
            name = "echo-test"

        with pytest.raises(ValueError, match="already registered"):
            register(Other)
    finally:
        unregister("echo-test")
    assert "echo-test" not in known_agents()


def test_register_needs_a_name():
    class Nameless(BaseAgent):
        pass

    with pytest.raises(ValueError, match="non-empty string 'name'"):
        register(Nameless)


def test_a_plain_class_satisfies_the_protocol():
    class Minimal:
        name = "minimal"

        def prepare(self, request) -> Invocation:
            return Invocation(argv=("true",))

        def interpret(self, outcome) -> AgentResult:
            return AgentResult.setup_failed("x")

    assert isinstance(Minimal(), Agent)
