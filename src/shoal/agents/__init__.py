"""Agents: how shoal starts a worker for a task and reads what it did.

Built in: ``script`` (the task's ``run:`` commands; needs no API key),
``command`` (any agent CLI as an argument-list template) and the adapters of
real agent CLIs driven headless: ``claude``, ``codex``, ``gemini``, ``aider``
and ``opencode`` (see docs/agents.md). Adapters for other CLIs subclass
`BaseAgent` (or `HeadlessAgent`), set ``name`` and call `register`.
"""

# Every agent module is imported for its registration as well.
from shoal.agents.aider import AiderAgent
from shoal.agents.base import (
    PROMPT_FILE_NAME,
    Agent,
    AgentSetupError,
    BaseAgent,
    UnknownAgentError,
    prompt_file,
    shoal_env,
)
from shoal.agents.claude import ClaudeAgent
from shoal.agents.codex import CodexAgent
from shoal.agents.command import CommandAgent
from shoal.agents.gemini import GeminiAgent
from shoal.agents.headless import LIMIT_PATTERN, HeadlessAgent
from shoal.agents.invocation import AgentRequest, Invocation, ProcessOutcome
from shoal.agents.opencode import OpenCodeAgent
from shoal.agents.output import DEFAULT_TAIL_BYTES, json_lines, read_tail, trailing_json
from shoal.agents.registry import get_agent, known_agents, register, unregister
from shoal.agents.report import TestResults, WorkerReport, find_report
from shoal.agents.result import (
    COMPLETION_WORDS,
    MARKER_FILES,
    RATE_LIMIT_PATTERN,
    AgentResult,
    ErrorKind,
    ResultSource,
    ResultStatus,
    StructuredResult,
    decide,
)
from shoal.agents.script import ScriptAgent

__all__ = [
    "COMPLETION_WORDS",
    "DEFAULT_TAIL_BYTES",
    "LIMIT_PATTERN",
    "MARKER_FILES",
    "PROMPT_FILE_NAME",
    "RATE_LIMIT_PATTERN",
    "Agent",
    "AgentRequest",
    "AgentResult",
    "AgentSetupError",
    "AiderAgent",
    "BaseAgent",
    "ClaudeAgent",
    "CodexAgent",
    "CommandAgent",
    "ErrorKind",
    "GeminiAgent",
    "HeadlessAgent",
    "Invocation",
    "OpenCodeAgent",
    "ProcessOutcome",
    "ResultSource",
    "ResultStatus",
    "ScriptAgent",
    "StructuredResult",
    "TestResults",
    "UnknownAgentError",
    "WorkerReport",
    "decide",
    "find_report",
    "get_agent",
    "json_lines",
    "known_agents",
    "prompt_file",
    "read_tail",
    "register",
    "shoal_env",
    "trailing_json",
    "unregister",
]
