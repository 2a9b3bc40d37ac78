"""The scripted worker: the "model" behind every dialect, stateless per request.

It reads where it is from the conversation alone: the prompt names the task and the files it
owns (shoal's worker prompt: ``# Task Worker: Execute Task <id>`` and ``## Files to Modify``),
and the number of tool results so far says which step comes next. Each file action is a read
then a write (a write of a file the client has not read is refused by some clients); a
``run`` action is one shell step; then the final message with seed 001's JSON report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from .script import Action, Entry, Script
from ..fakes.scenario import files_to_modify as _listed

_TASK = re.compile(r"#\s*Task Worker: Execute Task\s+(\S+)|\*\*ID\*\*:\s*(\S+)")
MISSING = None  # a read result for a file that does not exist


@dataclass(frozen=True)
class Step:
    """What the model does next: ``read`` or ``write`` a file, ``run`` a command, or ``final``."""

    kind: str
    path: str = ""
    content: str = ""  # write: the whole new content
    old: str | None = None  # write: the content read before (None: a new file)
    command: str = ""  # run
    text: str = ""  # final: the whole message


@dataclass
class Conversation:
    """What a dialect recovered from one request, in neutral terms."""

    prompt: str  # every instruction text of the request (system and user), joined
    results: list[str | None] = field(default_factory=list)  # tool results so far, in order

    @property
    def task(self) -> str | None:
        return task_id(self.prompt)


def task_id(prompt: str) -> str | None:
    """The task id a shoal worker prompt names, or None."""
    match = _TASK.search(prompt)
    return (match.group(1) or match.group(2)).strip("*`") if match else None


def files_to_modify(prompt: str) -> list[str]:
    """The paths listed under the prompt's "Files to Modify" heading, each once (globs and
    folders skipped), as the fake CLIs read them."""
    return list(dict.fromkeys(_listed(prompt)))


class Worker:
    """Turns a conversation into the next step, following the script."""

    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()

    def entry(self, conversation: Conversation) -> Entry:
        return self.script.entry(conversation.task)

    def actions(self, conversation: Conversation) -> list[Action]:
        entry = self.entry(conversation)
        if entry.actions is not None:
            return list(entry.actions)
        line = f"edited by {conversation.task or 'mock'}"
        return [Action("append", path, line) for path in files_to_modify(conversation.prompt)]

    def plan(self, conversation: Conversation) -> list[Step]:
        """Every tool step, in order; a write's content is filled in from its read's result."""
        steps: list[Step] = []
        for action in self.actions(conversation):
            if action.kind == "run":
                steps.append(Step("run", command=action.text))
            else:
                steps += [Step("read", action.path), Step(action.kind, action.path, action.text)]
        return steps

    def next_step(self, conversation: Conversation) -> Step:
        steps = self.plan(conversation)
        done = len(conversation.results)
        if done >= len(steps):
            return Step("final", text=self.final_message(conversation))
        step = steps[done]
        if step.kind in ("append", "write"):
            old = conversation.results[done - 1]
            if step.kind == "append":
                base = old or ""
                if base and not base.endswith("\n"):
                    base += "\n"
                content = base + step.content + "\n"
            else:
                content = step.content
            return Step("write", step.path, content, old=old)
        return step

    def edits(self, conversation: Conversation, files: dict[str, str | None]) -> list[Step]:
        """Every write at once, from file contents the client put in the chat (aider)."""
        writes: list[Step] = []
        for action in self.actions(conversation):
            if action.kind == "run":
                continue
            old = files.get(action.path)
            if action.kind == "append":
                base = old or ""
                if base and not base.endswith("\n"):
                    base += "\n"
                writes.append(Step("write", action.path, base + action.text + "\n", old=old))
            else:
                writes.append(Step("write", action.path, action.text, old=old))
        return writes

    def modified(self, conversation: Conversation) -> list[str]:
        return [a.path for a in self.actions(conversation) if a.kind != "run"]

    def final_message(self, conversation: Conversation) -> str:
        entry = self.entry(conversation)
        if entry.final is not None:
            return entry.final
        task = conversation.task or "mock"
        blocked = entry.status == "blocked"
        report = {
            "status": entry.status,
            "files_modified": [] if blocked else self.modified(conversation),
            "test_results": {"ran": 0, "passed": 0, "failed": 0},
            "blocker": (entry.blocker or f"task {task} is blocked") if blocked else entry.blocker,
            "notes": entry.notes or f"mock model worker for task {task}",
        }
        tail = "TASK COMPLETE" if entry.status == "complete" else f"TASK {entry.status.upper()}"
        return f"Done with task {task}.\n\n```json\n{json.dumps(report, indent=2)}\n```\n\n{tail}"
