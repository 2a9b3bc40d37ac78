"""Finding a repository's state database and a run in it, for readers (status, audit)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import UnknownRunError
from ..git import Git
from ..store import RunRecord, Store, default_db_path


@contextmanager
def open_store(repo: str | os.PathLike[str] | None) -> Iterator[tuple[Git, Store]]:
    """The repository's git and state database, read-only in spirit; ``UnknownRunError``
    when it has no runs."""
    git = Git(Path(repo) if repo else Path.cwd())
    path = default_db_path(git.common_dir())
    if not path.exists():
        raise UnknownRunError("this repository has no shoal runs yet",
                              hint="start one with `shoal run PLAN`")
    store = Store.open(path, create=False)
    try:
        yield git, store
    finally:
        store.close()


def pick_run(store: Store, run_id: str | None) -> RunRecord:
    """The named run, or the latest one."""
    if run_id:
        return store.get_run(run_id)
    latest = store.latest_run()
    if latest is None:
        raise UnknownRunError("this repository has no shoal runs yet",
                              hint="start one with `shoal run PLAN`")
    return latest
