"""The real agent CLIs at pinned versions, installed into a cache folder of their own.

shoal's real-CLI test tier (and anyone rehearsing a plan against `shoal.testing.mockmodel`)
needs the actual binaries, not fakes. ``python -m shoal.testing.realclis`` installs the pinned
versions from npm and PyPI (aider in a virtual environment of its own, so its many pinned
dependencies never meet shoal's) and prints the folder holding their programs::

    <root>/<key>/bin/claude  codex  gemini  opencode  aider

``<key>`` is a hash of the pins, so a new pin installs afresh and an unchanged one is reused.
The root is ``$SHOAL_REAL_CLIS_ROOT`` or ``~/.cache/shoal/real-clis``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

# program -> (registry, package, version). Versions are the ones the adapters were proven with.
PINS: dict[str, tuple[str, str, str]] = {
    "claude": ("npm", "@anthropic-ai/claude-code", "2.1.197"),
    "codex": ("npm", "@openai/codex", "0.169.1"),
    "gemini": ("npm", "@google/gemini-cli", "0.61.0"),
    "opencode": ("npm", "opencode-ai", "1.18.33"),
    "aider": ("pypi", "aider-chat", "0.86.2"),
}
ROOT_ENV = "SHOAL_REAL_CLIS_ROOT"
DONE = ".installed"


def default_root() -> Path:
    given = os.environ.get(ROOT_ENV)
    return Path(given) if given else Path.home() / ".cache" / "shoal" / "real-clis"


def key() -> str:
    return hashlib.sha256(json.dumps(PINS, sort_keys=True).encode()).hexdigest()[:12]


def bin_dir(root: Path | None = None) -> Path:
    return (root or default_root()) / key() / "bin"


def installed(root: Path | None = None) -> Path | None:
    """The bin folder when every pinned CLI is installed there, else None."""
    folder = bin_dir(root)
    return folder if (folder.parent / DONE).exists() else None


def install(root: Path | None = None, *, log: Path | None = None) -> Path:
    """Install every pinned CLI (once per set of pins) and return the bin folder.

    Raises RuntimeError naming the package and the log when an install fails."""
    if (done := installed(root)) is not None:
        return done
    home = bin_dir(root).parent
    shutil.rmtree(home, ignore_errors=True)  # a half-finished earlier install
    (home / "bin").mkdir(parents=True)
    log = log or home / "install.log"
    npm = [f"{pkg}@{ver}" for reg, pkg, ver in PINS.values() if reg == "npm"]
    _run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home / "npm"), *npm], log)
    aider_venv = home / "aider-venv"
    venv.EnvBuilder(with_pip=True).create(aider_venv)
    pypi = [f"{pkg}=={ver}" for reg, pkg, ver in PINS.values() if reg == "pypi"]
    _run([str(aider_venv / "bin" / "python"), "-m", "pip", "install", "-q", *pypi], log)
    for program, (registry, _, _) in PINS.items():
        target = (home / "npm" / "node_modules" / ".bin" / program if registry == "npm"
                  else aider_venv / "bin" / program)
        if not target.exists():
            raise RuntimeError(f"{program} is missing after the install (expected {target}); see {log}")
        (home / "bin" / program).symlink_to(target)
    (home / DONE).write_text(json.dumps(PINS, indent=1) + "\n")
    return home / "bin"


def _run(argv: list[str], log: Path) -> None:
    with open(log, "ab") as out:
        out.write(("$ " + " ".join(argv) + "\n").encode())
        out.flush()
        done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} ... failed with exit {done.returncode}; see {log}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shoal.testing.realclis",
        description="Install the pinned real agent CLIs (Claude Code, Codex, Gemini CLI, OpenCode "
                    "from npm; aider from PyPI in its own venv) and print their bin folder.")
    parser.add_argument("--root", type=Path, default=None,
                        help=f"cache folder (default: ${ROOT_ENV} or ~/.cache/shoal/real-clis)")
    parser.add_argument("--check", action="store_true",
                        help="install nothing: exit 1 unless they are installed")
    args = parser.parse_args(argv)
    if args.check:
        found = installed(args.root)
        print(found or "not installed", file=sys.stdout if found else sys.stderr)
        return 0 if found else 1
    try:
        print(install(args.root))
    except (RuntimeError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
