"""The fake agent CLIs themselves: scenario selection, the PATH wrapper, strict flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shoal.testing.fakes import FAKE_CLIS, install_fake_cli
from shoal.testing.fakes.scenario import SCENARIOS, choose, files_to_modify


@pytest.mark.parametrize(("spec", "task", "attempt", "expected"), [
    (None, "a", "1", "ok"),
    ("crash", "a", "1", "crash"),
    ("ok,b=rate-limit", "a", "1", "ok"),
    ("ok,b=rate-limit", "b", "1", "rate-limit"),
    ("b=rate-limit,b@2=ok", "b", "2", "ok"),
    ("b=rate-limit,b@2=ok", "b", "1", "rate-limit"),
    ("hang, c = fail", "c", "3", "fail"),
])
def test_choose(spec, task, attempt, expected):
    assert choose(spec, task, attempt) == expected


def test_files_to_modify_skips_globs_and_folders():
    prompt = "# T\n## Files to Modify\n- `a.txt`\n- src/**\n- docs/\n* b/c.py\n## Files to Read\n- r.txt\n"
    assert files_to_modify(prompt) == ["a.txt", "b/c.py"]


def test_the_wrapper_runs_the_fake_under_the_real_name(tmp_path):
    bin_dir = install_fake_cli(tmp_path / "bin", "codex", scenario="crash", env={"SHOAL_FAKE_VERSION": "it's 1"})
    done = subprocess.run([str(bin_dir / "codex"), "--version"], capture_output=True, text=True,
                          check=False)
    assert (done.returncode, done.stdout) == (0, "it's 1\n")
    done = subprocess.run([str(bin_dir / "codex"), "exec", "x"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 101 and "panicked" in done.stderr  # the scenario from the wrapper


@pytest.mark.parametrize("cli", FAKE_CLIS)
def test_each_fake_refuses_an_unknown_scenario(cli, tmp_path):
    install_fake_cli(tmp_path, cli, scenario="nonsense")
    args = {"claude": ["-p", "x"], "codex": ["exec", "x"], "gemini": ["--prompt=x"],
            "aider": ["--message", "x"], "opencode": ["run", "x"]}[cli]
    done = subprocess.run([str(tmp_path / cli), *args], capture_output=True, text=True, cwd=tmp_path,
                          check=False)
    assert done.returncode == 2 and "unknown scenario 'nonsense'" in done.stderr
    assert all(name in done.stderr for name in SCENARIOS)


def test_bad_wrapper_arguments(tmp_path):
    with pytest.raises(ValueError, match="no fake 'cursor'"):
        install_fake_cli(tmp_path, "cursor")
    with pytest.raises(ValueError, match="not an environment variable name"):
        install_fake_cli(tmp_path, "claude", env={"A B": "1"})


def test_run_as_a_module(tmp_path):
    done = subprocess.run([sys.executable, "-m", "shoal.testing.fakes.gemini", "--version"],
                          capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "0.9.0\n")
