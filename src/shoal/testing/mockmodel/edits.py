"""Aider's edit formats: the whole reply of a model that has no tools.

``diff``: a SEARCH/REPLACE block per file (the whole old content searched, or an empty SEARCH
for a new or empty file, which aider appends); ``whole``: the path, then a fenced block with
the whole new content. The old content comes from the files aider put in the chat. The
report follows the edits; in ``whole`` as a ``shoal-report:`` line, since aider reads every
fenced block of such a reply as a file.
"""

from __future__ import annotations

import json
import re

from .worker import Conversation, Worker

FORMATS = ("diff", "whole")


def is_aider(system: str) -> bool:
    """Whether a system prompt is aider's main one (it teaches an edit format)."""
    return "SEARCH/REPLACE" in system or "file listing" in system.lower()


def format_of(system: str) -> str:
    """The edit format aider's system prompt teaches (``diff`` unless it is ``whole``)."""
    if "SEARCH/REPLACE" in system or "<<<<<<< SEARCH" in system:
        return "diff"
    if "file listing" in system.lower():
        return "whole"
    return "diff"


def chat_files(text: str, paths: list[str]) -> dict[str, str | None]:
    """The content aider showed for each path (``path`` line, then a fenced block)."""
    found: dict[str, str | None] = {}
    for path in paths:
        match = re.search(rf"(?m)^{re.escape(path)}\n(`{{3,}})[^\n]*\n(.*?)^\1[ \t]*$", text, re.DOTALL)
        found[path] = match.group(2) if match else None
    return found


def _fence(content: str) -> str:
    fence = "```"
    while fence in content:
        fence += "`"
    return fence


def reply(worker: Worker, conversation: Conversation, edit_format: str, chat_text: str) -> str:
    paths = [a.path for a in worker.actions(conversation) if a.kind != "run"]
    files = chat_files(chat_text, paths)
    blocks = []
    for step in worker.edits(conversation, files):
        old = step.old or ""
        if old and not old.endswith("\n"):
            old += "\n"
        if edit_format == "whole":
            fence = _fence(step.content)
            blocks.append(f"{step.path}\n{fence}\n{step.content}{fence}")
        else:
            fence = _fence(old + step.content)
            blocks.append(f"{step.path}\n{fence}\n<<<<<<< SEARCH\n{old}=======\n"
                          f"{step.content}>>>>>>> REPLACE\n{fence}")
    final = worker.final_message(conversation)
    if edit_format == "whole":
        final = _unfenced(final)
    return "\n\n".join([*blocks, final])


def _unfenced(final: str) -> str:
    """The report as a ``shoal-report:`` line instead of a fenced block."""
    match = re.search(r"```json\n(.*?)\n```", final, re.DOTALL)
    if not match:
        return final
    report = json.dumps(json.loads(match.group(1)))
    return final[:match.start()] + f"shoal-report: {report}" + final[match.end():]
