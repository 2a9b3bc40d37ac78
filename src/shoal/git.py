"""git as a list of named verbs, run through :mod:`shoal.process` with a cleaned environment.

Safety contract (the user's working tree, index and HEAD are never touched by a run):

- Read-only anywhere: ``toplevel git_dir common_dir is_repo version rev_parse resolve_commit
  current_branch branch_exists list_branches worktree_list status is_dirty changed_paths
  changed_paths_worktree merge_tree trailers log_count is_ancestor snapshot_tree`` (the last two
  add objects only). git runs with ``--no-optional-locks``: not even the index's stat cache is rewritten.
- Change only the shared ``.git`` (refs, objects, worktree registry), never a checkout, and take
  :meth:`Git.lock`: ``create_branch delete_branch update_ref worktree_add worktree_remove
  worktree_prune merge_commit``; ``commit_tree`` only writes an object.
- Change a checkout, so they refuse to run outside a *linked* worktree (the main working tree is
  the user's): ``add_all add_paths commit write_tree reset_hard reset_index restore checkout
  clean``.
- ``fast_forward`` is the one exception, for ``shoal merge`` only (the user asked for it).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from . import gitparse, process
from .errors import ExitCode, ShoalError
from .gitlock import repo_lock
from .gitparse import Change, MergeMessage, MergeTreeResult, StatusEntry, Worktree

# Stable, script-friendly output and no background work; none of this changes the user's config.
_BASE = (
    "git", "--no-pager", "--no-optional-locks",
    "-c", "core.quotePath=off", "-c", "color.ui=false", "-c", "diff.relative=false",
    "-c", "gc.auto=0", "-c", "maintenance.auto=false", "-c", "advice.detachedHead=false",
)
_DEFAULT_IDENTITY = {"user.name": "shoal", "user.email": "shoal@localhost"}
MERGE_TREE_VERSION = (2, 38)


class GitError(ShoalError):
    """A git operation could not be done for a reason shoal understands."""

    exit_code = ExitCode.PROBLEMS


class NotARepository(GitError):
    exit_code = ExitCode.USAGE


class RefNotFound(GitError):
    exit_code = ExitCode.USAGE


class GitTooOld(GitError):
    exit_code = ExitCode.USAGE


class RefChanged(GitError):
    """A compare-and-swap ref update lost: the ref no longer had the expected value."""


class MergeConflict(GitError):
    """Merging would conflict; ``paths`` lists the conflicted files. Nothing was changed."""

    def __init__(self, into: str, other: str, paths: Sequence[str],
                 messages: Sequence[MergeMessage] = ()) -> None:
        self.paths, self.messages = list(paths), list(messages)
        shown = ", ".join(self.paths[:10]) + (" ..." if len(self.paths) > 10 else "")
        super().__init__(f"merging {other} into {into} conflicts in: {shown or '(no single file)'}",
                         hint="the branch was left unchanged; resolve by hand or re-run the task "
                              "from the new head")


class Git:
    """One repository, seen from the work tree or linked worktree at `repo` (its top folder);
    `env` is git's whole environment (default :func:`process.clean_env`)."""

    def __init__(self, repo: Path, *, env: Mapping[str, str] | None = None,
                 timeout: float | None = None) -> None:
        self.path = Path(repo).absolute()
        self.env = process.clean_env() if env is None else dict(env)
        self.timeout = timeout
        self._dirs: tuple[Path, Path, Path] | None = None

    def __repr__(self) -> str:
        return f"Git({str(self.path)!r})"

    def _run(self, *args: str, input: bytes | None = None, check: bool = True,
             cwd: Path | None = None, env: Mapping[str, str] | None = None) -> process.Completed:
        return process.run([*_BASE, *args], cwd=cwd or self.path, input=input, check=check,
                           env={**self.env, **env} if env else self.env, timeout=self.timeout)

    # -- where things are ------------------------------------------------------------------
    def _locate(self) -> tuple[Path, Path, Path]:
        if self._dirs is None:
            done = self._run("rev-parse", "--path-format=absolute", "--show-toplevel",
                             "--absolute-git-dir", "--git-common-dir", check=False)
            lines = done.text.split("\n")
            if not done.ok or len(lines) != 3:
                raise NotARepository(f"{self.path} is not inside a git work tree",
                                     hint="run shoal from a git repository (git init)")
            top, gd, cd = (Path(line) for line in lines)
            self._dirs = (top, gd, cd.resolve())
        return self._dirs

    def toplevel(self) -> Path:
        return self._locate()[0]

    def git_dir(self) -> Path:
        return self._locate()[1]

    def common_dir(self) -> Path:
        return self._locate()[2]

    def is_linked_worktree(self) -> bool:
        return self.git_dir().resolve() != self.common_dir()

    @staticmethod
    def is_repo(path: Path) -> bool:
        """True if `path` is an existing folder inside a git work tree."""
        if not Path(path).is_dir():
            return False
        done = process.run([*_BASE, "rev-parse", "--is-inside-work-tree"],
                           cwd=Path(path).absolute(), check=False)
        return done.ok and done.text == "true"

    def version(self) -> tuple[int, ...]:
        path = self.env.get("PATH", "")
        if path not in _VERSIONS:
            text = self._run("version", cwd=Path(tempfile.gettempdir())).text
            m = re.search(r"(\d+(?:\.\d+)*)", text)
            _VERSIONS[path] = tuple(int(x) for x in m[1].split(".")) if m else (0,)
        return _VERSIONS[path]

    def require_version(self, minimum: tuple[int, ...] = MERGE_TREE_VERSION) -> None:
        have = self.version()
        if have < minimum:
            want, got = ".".join(map(str, minimum)), ".".join(map(str, have))
            raise GitTooOld(f"shoal needs git {want} or later, found git {got}",
                            hint=f"upgrade git to {want} or newer (git merge-tree --write-tree)")

    # -- refs and branches -----------------------------------------------------------------
    def rev_parse(self, ref: str) -> str | None:
        """The commit `ref` names, or None if it names no commit."""
        done = self._run("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}",
                         check=False)
        return done.text if done.ok else None

    def resolve_commit(self, ref: str, *, what: str = "base ref") -> str:
        sha = self.rev_parse(ref)
        if sha is None:
            if not self._run("rev-list", "--max-count=1", "--all", check=False).text:
                raise RefNotFound(f"{what} {ref!r} does not exist in {self.path}: the repository "
                                  "has no commits yet",
                                  hint="make a first commit (`git add` your files, then `git "
                                       "commit`): a run starts from a commit")
            raise RefNotFound(f"{what} {ref!r} does not exist in {self.path}",
                              hint="name an existing branch, tag or commit (git branch --list)")
        return sha

    def current_branch(self) -> str | None:
        """The checked-out branch's short name, or None when HEAD is detached."""
        done = self._run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return done.text if done.ok else None

    def branch_exists(self, name: str) -> bool:
        return self._run("show-ref", "--verify", "--quiet", _branch_ref(name), check=False).ok

    def list_branches(self, prefix: str = "") -> dict[str, str]:
        """Branch name -> commit for every branch whose name starts with `prefix`, sorted."""
        out = self._run("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/").text
        branches = {}
        for line in filter(None, out.split("\n")):
            sha, ref = line.split(" ", 1)
            name = ref.removeprefix("refs/heads/")
            if name.startswith(prefix):
                branches[name] = sha
        return dict(sorted(branches.items()))

    def create_branch(self, name: str, at: str) -> str:
        """Create branch `name` at commit `at` (must not exist yet); returns the commit."""
        with self.lock():
            sha = self.resolve_commit(at, what="start point")
            if self.branch_exists(name):
                raise GitError(f"branch {name!r} already exists",
                               hint="pick another name or delete it (shoal cleanup)")
            self.update_ref(_branch_ref(name), sha, "")
            return sha

    def delete_branch(self, name: str, force: bool = False) -> bool:
        """Delete a branch (``git branch -d``, or ``-D`` with `force`); False if it did not exist."""
        with self.lock():
            if not self.branch_exists(name):
                return False
            self._run("branch", "-D" if force else "-d", "--", name)
            return True

    def update_ref(self, ref: str, new: str, old: str | None = None, *,
                   message: str = "shoal") -> None:
        """Point `ref` at `new`. With `old`, only if it still points at `old` ("" = must not
        exist); otherwise raises :class:`RefChanged` and changes nothing."""
        with self.lock():
            args = ["update-ref", "-m", message, ref, new, *([] if old is None else [old])]
            done = self._run(*args, check=old is None)
            if not done.ok:
                now = self._run("rev-parse", "--verify", "--quiet", ref, check=False).text or None
                if now != (old or None):
                    raise RefChanged(f"{ref} moved to {now or 'nothing'} (expected {old or 'nothing'})",
                                     hint="another process changed it; re-read and retry")
                raise process.CommandFailed(done.argv, done.returncode, done.stdout, done.stderr,
                                            self.path)

    # -- worktrees -------------------------------------------------------------------------
    def worktree_add(self, path: Path, branch: str, start_point: str | None) -> Git:
        """Check out `branch` in a new linked worktree at `path` (absolute). With `start_point`
        the branch is created there; with None it must already exist. Returns its :class:`Git`."""
        path = _absolute(path)
        with self.lock():
            if start_point is None:
                self._run("worktree", "add", "--quiet", "--", str(path), branch)
            else:
                sha = self.resolve_commit(start_point, what="start point")
                self._run("worktree", "add", "--quiet", "--no-track", "-b", branch, "--", str(path), sha)
        return Git(path, env=self.env, timeout=self.timeout)

    def worktree_remove(self, path: Path, force: bool = True) -> None:
        """Remove a linked worktree (with `force`: even dirty or locked); its branch stays."""
        path = _absolute(path)
        with self.lock():
            if not path.exists():  # folder already gone: forget the registration
                self.worktree_prune()
                return
            self._run("worktree", "remove", *(["--force", "--force"] if force else []), str(path))

    def worktree_list(self) -> list[Worktree]:
        out = self._run("worktree", "list", "--porcelain", "-z").stdout
        return gitparse.parse_worktree_list(out)

    def worktree_prune(self) -> None:
        with self.lock():
            self._run("worktree", "prune")

    # -- the state of a checkout -----------------------------------------------------------
    def status(self, paths: Sequence[str] | None = None) -> list[StatusEntry]:
        out = self._run("status", "--porcelain=v2", "-z", "--untracked-files=all", "--renames",
                        "--", *(paths or ()), cwd=self.toplevel()).stdout
        return gitparse.parse_status_v2(out)

    def is_dirty(self) -> bool:
        """True if anything is staged, modified, deleted or untracked (ignored files don't count)."""
        return bool(self._run("status", "--porcelain=v2", "-z", cwd=self.toplevel()).stdout)

    def changed_paths(self, base: str, head: str) -> list[Change]:
        """What changed from commit `base` to commit `head` (renames detected, deletions kept)."""
        out = self._run("diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv",
                        "--end-of-options", base, head, "--").stdout
        return gitparse.parse_name_status(out)

    def changed_paths_worktree(self, base: str) -> list[Change]:
        """What differs between commit `base` and the files on disk: committed, staged, unstaged
        and untracked (not ignored) changes. Untracked files are reported as ``A``."""
        top = self.toplevel()
        changes = gitparse.parse_name_status(self._run(
            "diff", "--name-status", "-z", "-M", "--no-ext-diff", "--no-textconv",
            "--end-of-options", base, "--", cwd=top).stdout)
        seen = {c.path for c in changes}
        others = self._run("ls-files", "-z", "--others", "--exclude-standard", cwd=top).stdout
        extra = [Change("A", os.fsdecode(p)) for p in others.split(b"\0") if p]
        return changes + [c for c in extra if c.path not in seen]

    def snapshot_tree(self, index: Path | None = None, *, previous: str | None = None) -> str:
        """A tree of the files on disk (as ``git add -A`` would stage them), built in a private
        index so that the real index is untouched. Works in any checkout, the user's included.

        `index` keeps that private index between calls (started from the real one), so only what
        changed since the last call is hashed again. With `previous`, the tree the last call on
        that index returned: when ``git add -A`` leaves the index as it was, nothing changed, and
        that tree comes back without another git process."""
        if index is None:
            with tempfile.TemporaryDirectory(prefix="shoal-index-") as tmp:
                return self._snapshot(Path(tmp) / "index", None)
        return self._snapshot(index, previous)

    def _snapshot(self, index: Path, previous: str | None) -> str:
        env = {"GIT_INDEX_FILE": str(index)}
        real = self.git_dir() / "index"
        if not index.exists() and real.exists():  # its stat cache spares rehashing unchanged files
            # copy2 keeps the mtime, which git's racy-clean check compares file times with
            shutil.copy2(real, index)
            previous = None
        before = _index_checksum(index)
        # index.skipHash (git >= 2.40, part of feature.manyFiles) would leave the checksum zero
        self._run("-c", "index.skipHash=false", "add", "-A", cwd=self.toplevel(), env=env)
        if previous is not None and before is not None and _index_checksum(index) == before:
            return previous
        return self._run("write-tree", env=env).text

    # -- commits in a linked worktree ------------------------------------------------------
    def _require_linked(self, verb: str) -> None:
        if not self.is_linked_worktree():
            raise GitError(f"refusing to {verb} in {self.toplevel()}: it is the repository's main "
                           "working tree, which belongs to the user",
                           hint="shoal changes only the linked worktrees it creates")

    def add_all(self, exclude: Sequence[str] = ()) -> None:
        """Stage every change; `exclude` names paths (literal, from the top folder) to leave
        out, such as untracked files shoal copied into a workspace."""
        self._require_linked("stage files")
        if not exclude:
            self._run("add", "-A", cwd=self.toplevel())
            return
        specs = [":(top)"] + [f":(top,exclude,literal){p}" for p in exclude]
        self._run("add", "-A", *_PATHSPEC_STDIN, input=_nul(specs), cwd=self.toplevel())

    def add_paths(self, paths: Sequence[str]) -> None:
        """Stage exactly `paths` (literal): new, changed or deleted."""
        self._require_linked("stage files")
        if paths:
            self._run("add", "-A", *_PATHSPEC_STDIN, input=_nul(_literal(paths)), cwd=self.toplevel())

    def reset_index(self, ref: str) -> None:
        """Point HEAD and the index at `ref`, leaving the files on disk alone (reset --mixed)."""
        self._require_linked("reset")
        self._run("reset", "--quiet", "--mixed", self.resolve_commit(ref, what="ref"))

    def restore(self, source: str, paths: Sequence[str]) -> None:
        """Make `paths` (literal) in the index and on disk what they are in commit `source`,
        deleting those it lacks. Each path must be in `source` or in the index."""
        self._require_linked("restore files")
        if paths:
            sha = self.resolve_commit(source, what="source")
            self._run("restore", "--quiet", f"--source={sha}", "--staged", "--worktree",
                      *_PATHSPEC_STDIN, input=_nul(_literal(paths)), cwd=self.toplevel())

    def commit(self, message: str, allow_empty: bool = False) -> str | None:
        """Commit what is staged (hooks and signing skipped); None when there is nothing."""
        self._require_linked("commit")
        if not allow_empty and self._run("diff", "--cached", "--quiet", check=False).ok:
            return None
        self._run(*self._identity(), "commit", "--quiet", "--no-verify", "--no-gpg-sign",
                  "--cleanup=whitespace", *(["--allow-empty"] if allow_empty else []), "-F", "-",
                  input=message.encode())
        return self.resolve_commit("HEAD")

    def write_tree(self) -> str:
        self._require_linked("write the index")  # write-tree may rewrite the index's cache-tree
        return self._run("write-tree").text

    def reset_hard(self, ref: str = "HEAD") -> None:
        self._require_linked("reset")
        self._run("reset", "--quiet", "--hard", self.resolve_commit(ref, what="ref"))

    def checkout(self, ref: str) -> None:
        """Switch to branch `ref`, or detach at the commit `ref` names."""
        self._require_linked("check out")
        if ref.startswith("-"):  # git checkout mishandles --end-of-options (2.39)
            raise ValueError(f"not a ref: {ref!r}")
        self._run("checkout", "--quiet", ref, "--")

    def clean(self, ignored: bool = False) -> None:
        """Delete untracked files and folders; ignored ones too with `ignored` (``-x``)."""
        self._require_linked("clean")
        self._run("clean", "-ffdxq" if ignored else "-ffdq", cwd=self.toplevel())

    def fast_forward(self, commit: str) -> None:
        """``git merge --ff-only`` of `commit` into the checked-out branch. The one verb allowed
        in the user's own working tree, for ``shoal merge`` only; git refuses to overwrite
        local changes, and so does this."""
        sha = self.resolve_commit(commit, what="commit")
        self._run("merge", "--ff-only", "--quiet", "--no-edit", sha, cwd=self.toplevel())

    def is_tracked(self, path: Path) -> bool:
        """Whether `path` (in this checkout) is a file git tracks here."""
        done = self._run("ls-files", "--error-unmatch", "--", str(path), check=False,
                         cwd=self.toplevel())
        return done.ok

    def exists_at(self, rev: str, path: str) -> bool:
        """Whether `rev` has `path` (a file or a folder, repository-relative)."""
        return self._run("cat-file", "-e", f"{rev}:{path}", check=False).ok

    def read_file(self, rev: str, path: str) -> bytes | None:
        """The bytes of `path` (repository-relative) at `rev`; None when it is not there."""
        done = self._run("cat-file", "blob", f"{rev}:{path}", check=False)
        return done.stdout if done.ok else None

    def commit_file(self, branch: str, path: str, data: bytes, message: str) -> str | None:
        """Commit `data` as `path` (repository-relative) on top of `branch` without a checkout,
        in a private index, and move the branch (compare-and-swap). None when the file there
        already holds `data`."""
        head = self.resolve_commit(f"refs/heads/{branch}", what="branch")
        blob = self._run("hash-object", "-w", "--stdin", input=data).text
        with tempfile.TemporaryDirectory(prefix="shoal-index-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            self._run("read-tree", head, env=env)
            self._run("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=env)
            tree = self._run("write-tree", env=env).text
        if tree == self._run("rev-parse", f"{head}^{{tree}}").text:
            return None
        commit = self.commit_tree(tree, [head], message)
        self.update_ref(f"refs/heads/{branch}", commit, head)
        return commit

    # -- history and merging ---------------------------------------------------------------
    def commit_tree(self, tree: str, parents: Sequence[str], message: str) -> str:
        args = [a for p in parents for a in ("-p", p)]
        return self._run(*self._identity(), "commit-tree", "--no-gpg-sign", tree, *args, "-F", "-",
                         input=message.encode()).text

    def trailers(self, rev: str, key: str, *, first_parent: bool = True) -> list[tuple[str, tuple[str, ...]]]:
        """(commit, values of trailer `key`) for each commit of `rev`'s history, newest first."""
        sha = self.resolve_commit(rev, what="ref")
        out = self._run("log", "-z", *(["--first-parent"] if first_parent else []),
                        f"--format=%H%n%(trailers:key={key},valueonly,unfold)", sha, "--").stdout
        result = []
        for record in filter(None, out.decode("utf-8", "replace").split("\0")):
            commit, *values = record.strip("\n").split("\n")
            result.append((commit, tuple(v.strip() for v in values if v.strip())))
        return result

    def log_count(self, base: str, head: str) -> int:
        """How many commits `head` has that `base` does not."""
        return int(self._run("rev-list", "--count", "--end-of-options", f"{base}..{head}").text)

    def is_ancestor(self, a: str, b: str) -> bool:
        done = self._run("merge-base", "--is-ancestor", a, b, check=False)
        if done.returncode not in (0, 1):
            raise process.CommandFailed(done.argv, done.returncode, done.stdout, done.stderr, self.path)
        return done.returncode == 0

    def merge_tree(self, ours: str, theirs: str) -> MergeTreeResult:
        """Merge two commits in memory (``git merge-tree --write-tree``); touches no checkout."""
        self.require_version(MERGE_TREE_VERSION)
        done = self._run("merge-tree", "--write-tree", "-z", "--name-only", ours, theirs, check=False)
        if done.returncode not in (0, 1):
            raise process.CommandFailed(done.argv, done.returncode, done.stdout, done.stderr, self.path)
        return gitparse.parse_merge_tree(done.stdout, clean=done.returncode == 0)

    def merge_commit(self, into_ref: str, other: str, message: str) -> str:
        """Merge `other` into branch `into_ref` without any working tree: merge-tree, a commit with
        two parents (never a fast-forward, so each merge stays visible), then a compare-and-swap
        of the branch. Returns the branch's new commit, or
        its current one if `other` is already merged (so a replay merges nothing twice).
        Raises :class:`MergeConflict` (branch unchanged) on conflict, and refuses a branch that
        is checked out somewhere, since moving it would make that checkout look changed."""
        ref = _branch_ref(into_ref)
        with self.lock():
            old = self.resolve_commit(ref, what="branch")
            theirs = self.resolve_commit(other, what="ref to merge")
            if self.is_ancestor(theirs, old):
                return old
            name = ref.removeprefix("refs/heads/")
            if any(w.branch == name for w in self.worktree_list()):
                raise GitError(f"branch {name!r} is checked out; shoal will not move it under a "
                               "working tree", hint="merge into a branch that is not checked out")
            result = self.merge_tree(old, theirs)
            if not result.clean:
                raise MergeConflict(name, other, result.conflicts, result.messages)
            new = self.commit_tree(result.tree, [old, theirs], message)
            self.update_ref(ref, new, old, message=f"shoal: merge {other}")
            return new

    # -- identity and locking --------------------------------------------------------------
    def _identity(self) -> list[str]:
        """``-c user.*`` defaults for what the repository's config lacks, looked up once."""
        key = self.common_dir()
        if key not in _IDENTITY:
            done = self._run("config", "--get-regexp", r"^user\.(name|email)$", check=False)
            have = {line.split(" ", 1)[0].lower() for line in done.text.split("\n") if line}
            _IDENTITY[key] = [a for k, v in _DEFAULT_IDENTITY.items() if k not in have
                              for a in ("-c", f"{k}={v}")]
        return _IDENTITY[key]

    def lock(self) -> AbstractContextManager[None]:
        """Serialise changes to the shared ``.git`` across threads and processes (re-entrant;
        ``flock`` on ``<common dir>/shoal/git.lock``). Work inside worktrees does not need it."""
        return repo_lock(self.common_dir()).hold()


_IDENTITY: dict[Path, list[str]] = {}
_VERSIONS: dict[str, tuple[int, ...]] = {}


_PATHSPEC_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


def _index_checksum(path: Path) -> bytes | None:
    """The checksum an index file ends with (a hash of all before it): equal checksums, equal
    indexes, whatever the file system's timestamps and inode numbers."""
    try:
        with open(path, "rb") as index:
            index.seek(-32, os.SEEK_END)  # SHA-1 repositories use the last 20 of these
            checksum = index.read()
    except OSError:  # none yet, or shorter than that
        return None
    return checksum if checksum.strip(b"\0") else None  # all zero: not computed (skipHash)


def _literal(paths: Sequence[str]) -> list[str]:
    return [f":(top,literal){p}" for p in paths]


def _nul(specs: Sequence[str]) -> bytes:
    return b"".join(os.fsencode(s) + b"\0" for s in specs)


def _branch_ref(name: str) -> str:
    return name if name.startswith("refs/") else f"refs/heads/{name}"


def _absolute(path: Path) -> Path:
    path = Path(path)
    if not path.is_absolute():
        raise ValueError(f"worktree path must be absolute, not {str(path)!r}")
    return path
