"""The durable state of runs: one SQLite database per repository, the run lock, and
the status files exported from it.

``Store`` is written by one supervisor thread and read by any number of other
processes; every state change is one transaction together with its event.
"""

from shoal.store.export import (
    atomic_write_json,
    iso,
    parallel_status,
    resource_locks,
    status_json,
    update_tasks_json,
)
from shoal.store.lock import LockHolder, RunLock, lock_path
from shoal.store.records import (
    AttemptRecord,
    AttemptStart,
    AttemptState,
    Event,
    EventKind,
    MergeRecord,
    RunRecord,
    RunState,
    TaskRecord,
)
from shoal.store.schema import SCHEMA_VERSION
from shoal.store.store import Store, default_db_path, new_run_id

__all__ = [
    "SCHEMA_VERSION",
    "AttemptRecord",
    "AttemptStart",
    "AttemptState",
    "Event",
    "EventKind",
    "LockHolder",
    "MergeRecord",
    "RunLock",
    "RunRecord",
    "RunState",
    "Store",
    "TaskRecord",
    "atomic_write_json",
    "default_db_path",
    "iso",
    "lock_path",
    "new_run_id",
    "parallel_status",
    "resource_locks",
    "status_json",
    "update_tasks_json",
]
