"""How each real CLI is pointed at the mock: environment, flags, files, and shoal agent settings.

No real key is needed anywhere: each key below is a placeholder the mock never checks.

- **claude**: ``ANTHROPIC_BASE_URL`` and ``ANTHROPIC_API_KEY``; nonessential traffic (update
  checks, telemetry) off.
- **codex**: a model provider of its own given with ``-c`` (``model_provider``,
  ``model_providers.mock.base_url`` ending in ``/v1``, ``wire_api = "responses"``), no key.
- **gemini**: ``GOOGLE_GEMINI_BASE_URL`` and ``GEMINI_API_KEY``, plus a system settings file
  (``GEMINI_CLI_SYSTEM_SETTINGS_PATH``) choosing ``gemini-api-key`` auth: with the base URL
  alone Gemini CLI 0.61.0 picks its "gateway" auth, which its own non-interactive check then
  refuses ("Invalid auth method selected."). Gemini CLI skips a settings file under a folder
  others may write (such as /tmp), so the file lives under ``~/.cache/shoal/mockmodel``.
  ``GEMINI_CLI_TRUST_WORKSPACE=true``: in an untrusted folder it drops ``--approval-mode``.
- **opencode**: a provider ``mock`` (``@ai-sdk/openai-compatible``, bundled in OpenCode) in
  ``OPENCODE_CONFIG_CONTENT``, with ``OPENCODE_DISABLE_MODELS_FETCH`` and
  ``OPENCODE_DISABLE_AUTOUPDATE``; model ``mock/mock-model``.
- **aider**: ``--model openai/mock-model --openai-api-base <url>/v1`` and ``OPENAI_API_KEY``.
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path
from typing import Any

CLIS = ("claude", "codex", "gemini", "opencode", "aider")
MODEL = "mock-model"
KEY = "mock-key-not-checked"
GEMINI_SETTINGS = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
}


def _check(cli: str) -> None:
    if cli not in CLIS:
        raise ValueError(f"no such CLI {cli!r}; known: {', '.join(CLIS)}")


def _secure(path: Path) -> bool:
    """Whether no folder above ``path`` may be written by group or others (Gemini CLI's test)."""
    for folder in path.parents:
        if folder.exists() and folder.stat().st_mode & 0o022:
            return False
    return True


def gemini_settings_path() -> Path:
    """Gemini CLI's system settings for the mock, written once in a folder only we may write.

    Gemini CLI skips such a file when any folder above it is writable by others (``/tmp`` is),
    so the first of ``$XDG_CACHE_HOME``, ``~/.cache`` and the account's own home's ``.cache``
    that passes that test is used."""
    homes = [os.environ.get("XDG_CACHE_HOME"), str(Path.home() / ".cache"),
             str(Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache")]
    candidates = [Path(h) / "shoal" / "mockmodel" / "gemini-settings.json" for h in homes if h]
    path = next((c for c in candidates if _secure(c)), candidates[-1])
    text = json.dumps(GEMINI_SETTINGS, indent=1) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    return path


def opencode_config(url: str) -> dict[str, Any]:
    return {
        "$schema": "https://opencode.ai/config.json",
        "provider": {"mock": {"npm": "@ai-sdk/openai-compatible", "name": "shoal mock model",
                              "options": {"baseURL": f"{url}/v1", "apiKey": KEY},
                              "models": {MODEL: {"name": "shoal mock model"}}}},
        "model": f"mock/{MODEL}",
        "small_model": f"mock/{MODEL}",
        "autoupdate": False,
        "share": "disabled",
    }


def codex_config(url: str) -> dict[str, Any]:
    """codex ``-c`` entries (dotted keys, as shoal's codex agent wants them)."""
    return {"model_provider": "mock", "model_providers.mock.name": "shoal mock model",
            "model_providers.mock.base_url": f"{url}/v1",
            "model_providers.mock.wire_api": "responses"}


def env_for(cli: str, url: str) -> dict[str, str]:
    """The environment variables that point ``cli`` at the mock at ``url``."""
    _check(cli)
    if cli == "claude":
        return {"ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": KEY,
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1"}
    if cli == "codex":
        return {}
    if cli == "gemini":
        return {"GOOGLE_GEMINI_BASE_URL": url, "GEMINI_API_KEY": KEY,
                "GEMINI_CLI_SYSTEM_SETTINGS_PATH": str(gemini_settings_path()),
                "GEMINI_CLI_TRUST_WORKSPACE": "true"}
    if cli == "opencode":
        return {"OPENCODE_CONFIG_CONTENT": json.dumps(opencode_config(url)),
                "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"}
    return {"OPENAI_API_KEY": KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def args_for(cli: str, url: str) -> list[str]:
    """The flags that point ``cli`` at the mock (besides its usual headless ones)."""
    _check(cli)
    if cli == "codex":
        args = ["--model", MODEL]
        for key, value in codex_config(url).items():
            args += ["-c", f"{key}={json.dumps(value)}"]
        return args
    if cli == "opencode":
        return ["--model", f"mock/{MODEL}"]
    if cli == "aider":
        return ["--model", f"openai/{MODEL}", "--openai-api-base", f"{url}/v1",
                "--no-show-model-warnings"]
    return []


def agent_settings_for(cli: str, url: str) -> dict[str, Any]:
    """The plan's ``agents: {<cli>: ...}`` settings that run shoal's ``cli`` agent on the mock."""
    _check(cli)
    settings: dict[str, Any] = {}
    if cli == "codex":
        settings = {"model": MODEL, "config": codex_config(url)}
    elif cli == "opencode":
        settings = {"model": f"mock/{MODEL}", "permission": {"edit": "allow", "bash": "allow"}}
    elif cli == "aider":
        settings = {"model": f"openai/{MODEL}",
                    "extra_args": ["--openai-api-base", f"{url}/v1", "--no-show-model-warnings"]}
    env = env_for(cli, url)
    if cli == "gemini":  # shoal's gemini agent passes --skip-trust itself
        env.pop("GEMINI_CLI_TRUST_WORKSPACE")
    if env:
        settings["env"] = env
    return settings
