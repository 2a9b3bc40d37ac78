"""Finding the plan inside a folder."""

from __future__ import annotations

import os
from pathlib import Path

from shoal.errors import PlanReadError
from shoal.planfile.boundaries import BOUNDARIES
from shoal.planfile.folder import SETTINGS_NAMES, is_plan_folder

TASKS_JSON = "tasks.json"
LOOKED_FOR = (
    *SETTINGS_NAMES,
    TASKS_JSON,
    "tasks/*.md (a plan folder)",
    "parallel/*/tasks/*.md",
    "*/tasks/*.md",
    BOUNDARIES,
)


def find_plan(path: str | os.PathLike[str]) -> Path:
    """The plan file or plan folder that ``path`` names.

    A file is returned as it is. In a folder, in this order: a plan folder
    (``tasks/*.md``; its plan.yaml only holds settings), ``plan.yaml``,
    ``plan.yml``, ``plan.json``, ``plan.toml``, ``tasks.json``, the single
    plan folder under ``parallel/`` or directly below, a lone ``BOUNDARIES.json``.
    """
    given = Path(path)
    try:
        if given.is_file():
            return given
        if not given.exists():
            raise PlanReadError(
                f"{given} does not exist",
                file=str(given),
                hint="give the path of a plan file or folder; `shoal init DIR` makes one",
            )
        if not given.is_dir():
            raise PlanReadError(
                f"{given} is neither a file nor a folder", file=str(given)
            )
        return _search(given)
    except OSError as exc:
        raise PlanReadError(
            f"cannot look into {given}: {exc.strerror or exc}", file=str(given)
        ) from None


def _search(folder: Path) -> Path:
    if is_plan_folder(folder):
        return folder
    for name in (*SETTINGS_NAMES, TASKS_JSON):
        if (folder / name).is_file():
            return folder / name
    for base in (folder / "parallel", folder):
        if not base.is_dir():
            continue
        found = sorted(
            sub for sub in base.iterdir() if sub.is_dir() and is_plan_folder(sub)
        )
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            names = ", ".join(str(f) for f in found)
            raise PlanReadError(
                f"{base} holds several plan folders: {names}",
                file=str(base),
                hint="name the one to use, e.g. `" + str(found[0]) + "`",
            )
    if (folder / BOUNDARIES).is_file():
        return folder / BOUNDARIES
    raise PlanReadError(
        f"no plan found in {folder}",
        file=str(folder),
        hint=f"looked for {', '.join(LOOKED_FOR)}; run `shoal init {folder}` to make one",
    )
