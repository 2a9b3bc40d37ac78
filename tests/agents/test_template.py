"""Argument-list templates cannot be turned into shell code or Python format tricks."""

from __future__ import annotations

import pytest

from shoal.agents import AgentSetupError
from shoal.agents.template import check_template, fill, fill_all, placeholders

VALUES = {"prompt_file": "/a/prompt.md", "workdir": "/w", "task_id": "t1", "attempt_dir": "/a"}


def test_each_item_is_filled_on_its_own():
    argv = fill_all(["agent", "--prompt-file", "{prompt_file}", "--cwd={workdir}", "x{task_id}y"],
                    VALUES)
    assert argv == ("agent", "--prompt-file", "/a/prompt.md", "--cwd=/w", "xt1y")


def test_values_with_shell_syntax_stay_one_item():
    values = {**VALUES, "prompt_file": "/a/p.md; rm -rf /", "workdir": "$(reboot) `id` | x"}
    argv = fill_all(["agent", "{prompt_file}", "{workdir}"], values)
    assert argv == ("agent", "/a/p.md; rm -rf /", "$(reboot) `id` | x")


def test_template_item_with_shell_syntax_is_literal():
    argv = fill_all(["agent", "{prompt_file}; rm -rf /"], VALUES)
    assert argv == ("agent", "/a/prompt.md; rm -rf /")
    assert len(argv) == 2


def test_values_are_never_scanned_again():
    values = {**VALUES, "workdir": "/w/{task_id}/{{x}}/{nope}"}
    assert fill("{workdir}", values) == "/w/{task_id}/{{x}}/{nope}"


def test_doubled_braces_are_literal():
    assert fill('{{"cwd": "{workdir}"}}', VALUES) == '{"cwd": "/w"}'


@pytest.mark.parametrize("item", [
    "{model}", "{workdir.__class__}", "{workdir[0]}", "{0}", "{}", "{workdir!r}",
    "{workdir:>10}", "{ workdir }",
])
def test_unknown_or_fancy_placeholders_are_rejected(item):
    with pytest.raises(AgentSetupError, match="unknown placeholder") as info:
        fill(item, VALUES)
    assert "{prompt_file}" in info.value.hint


@pytest.mark.parametrize("item", ["{", "}", "a{b", "x}y", "{{x}"])
def test_unbalanced_braces_are_rejected(item):
    with pytest.raises(AgentSetupError, match="unbalanced"):
        fill(item, VALUES)


def test_error_names_the_item():
    with pytest.raises(AgentSetupError, match=r"command item 2 '--x=\{nope\}'"):
        fill_all(["agent", "--x={nope}"], VALUES)


@pytest.mark.parametrize("template", ["agent --flag", [], ["agent", 3], None, {"a": 1}])
def test_template_must_be_a_list_of_strings(template):
    with pytest.raises(AgentSetupError):
        check_template(template, VALUES)


def test_placeholders():
    assert placeholders("{{a}} {workdir} x {task_id}") == ("workdir", "task_id")
