"""Which files under some roots are documents: ignore rules, hidden files, symlinks.

Defaults skip version-control folders, virtual environments, caches, editor temp and lock
files and hidden files. A ``.ragignore`` file (gitignore syntax) in any folder adds rules
for that folder and below. A symlink is followed only to a file inside the innermost folder
that holds the link, among the roots and the ``fences`` (a server's collections): a link in
one collection never reads another's files, nor anything else on the machine. A changed path
handed in as a root (the watcher's) gets the same check.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

IGNORE_FILE = ".ragignore"
DEFAULT_RULES = (
    ".*",  # hidden files and folders, VCS folders among them
    "node_modules/",
    "__pycache__/",
    "venv/",
    "*~",
    "*.swp",
    "*.swo",
    "*.swx",
    "#*#",
    "~$*",  # office lock files
    "*.tmp",
    "*.part",
    "*.crdownload",
    "*.lock",
)
_DEFAULT_SPEC = pathspec.GitIgnoreSpec.from_lines(DEFAULT_RULES)


@dataclass
class ScanResult:
    files: list[Path] = field(default_factory=list)
    unsupported: list[Path] = field(default_factory=list)
    outside_links: list[Path] = field(default_factory=list)
    # what the rules left out: (file or folder, the rule that did, files in it: 1 for a file)
    ignored: list[tuple[Path, str, int]] = field(default_factory=list)


def _count(folder: Path, cap: int = 100_000) -> int:
    """Files under an ignored folder (counted, never read; at most ``cap``)."""
    total = 0
    for _, _, files in os.walk(folder, followlinks=False):
        total += len(files)
        if total >= cap:
            return cap
    return total


def _spec_for(folder: Path) -> pathspec.GitIgnoreSpec | None:
    rules = folder / IGNORE_FILE
    try:
        return pathspec.GitIgnoreSpec.from_lines(rules.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return None


class IgnoreRules:
    """Decides whether a path is ignored, given the roots and their ``.ragignore`` files."""

    def __init__(self, roots: Iterable[Path], fences: Iterable[Path] = ()) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        # every folder a link may not lead out of: the roots and the fences, innermost first
        bounds = {*self.roots, *(Path(os.path.abspath(f)) for f in fences)}
        self.bounds = sorted(bounds, key=lambda b: len(b.parts), reverse=True)
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}

    def _spec(self, folder: Path) -> pathspec.GitIgnoreSpec | None:
        if folder not in self._specs:
            self._specs[folder] = _spec_for(folder)
        return self._specs[folder]

    def forget(self, folder: Path) -> None:
        """Drop the cached rules of ``folder`` (its ``.ragignore`` changed)."""
        self._specs.pop(folder, None)

    def root_of(self, path: Path) -> Path | None:
        for root in self.roots:
            if path == root or root in path.parents:
                return root
        return None

    def link_target(self, link: Path) -> tuple[Path | None, str]:
        """Where the symlink ``link`` may be followed to: (target, "") for a regular file inside
        the innermost root or fence holding the link; else (None, why not)."""
        try:
            target = link.resolve(strict=True)
        except (OSError, RuntimeError) as exc:  # a loop, or a link to nothing
            loop = isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP
            return None, "a symlink loop" if loop else "a link to nothing"
        home = next((b for b in self.bounds if b in link.parents), None)
        if home is None or home.resolve() not in target.parents or not target.is_file():
            return None, "outside"
        return target, ""

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        return self.why(path, is_dir) is not None

    def why(self, path: Path, is_dir: bool = False) -> str | None:
        """The rule that ignores ``path`` ("hidden", "default rule *.tmp", ".ragignore in
        FOLDER: PATTERN", "outside the folders"), or None if it is not ignored."""
        root = self.root_of(path)
        if root is None:
            return "outside the folders"
        if path == root:
            return None
        rel = path.relative_to(root).as_posix() + ("/" if is_dir else "")
        found = _DEFAULT_SPEC.check_file(rel)
        if found.include and found.index is not None:
            rule = DEFAULT_RULES[found.index]
            return "hidden" if rule == ".*" else f"default rule {rule}"
        # .ragignore files from the root down to the path's folder, each relative to its folder
        folder = root
        for part in [*path.relative_to(root).parts[:-1], None]:
            spec = self._spec(folder)
            if spec is not None:
                found = spec.check_file(path.relative_to(folder).as_posix() + ("/" if is_dir else ""))
                if found.include and found.index is not None:
                    pattern = spec.patterns[found.index]
                    return f"{IGNORE_FILE} in {folder}: {getattr(pattern, 'pattern', None) or found.index + 1}"
            if part is None:
                break
            folder = folder / part
        return None


def scan(
    roots: Iterable[Path], extensions: frozenset[str], within: Iterable[Path] = (), fences: Iterable[Path] = ()
) -> ScanResult:
    """Every document file under ``roots`` (a root may also be a single file). ``within``
    names the folders whose ``.ragignore`` rules apply (the watched folders when a watcher
    scans one changed path inside them); by default the roots themselves. ``fences``: more
    folders that no symlink may lead out of (a server's collections)."""
    paths = [Path(os.path.abspath(r)) for r in roots]
    rules = IgnoreRules(within or paths, fences)
    result = ScanResult()
    seen: set[Path] = set()
    for root in paths:
        if rules.ignored(root, is_dir=root.is_dir()):
            continue
        for path in _walk(root, rules, result):
            if path in seen:
                continue
            seen.add(path)
            if path.suffix.lower() in extensions:
                result.files.append(path)
            else:
                result.unsupported.append(path)
    return result


def _walk(root: Path, rules: IgnoreRules, result: ScanResult) -> Iterator[Path]:
    if root not in rules.roots and root.is_symlink():  # a changed path the watcher hands in: as in a folder
        if root.is_dir():
            result.ignored.append((root, "a link to a folder (links to folders are not followed)", 0))
        elif _followed(root, rules, result):
            yield root
        return
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        return

    def unreadable(error: OSError) -> None:  # os.walk passes over a folder it cannot list: said so
        if error.filename:
            result.ignored.append((Path(error.filename), f"a folder that cannot be read ({error.strerror})", 0))

    for folder, dirs, files in os.walk(root, followlinks=False, onerror=unreadable):
        base = Path(folder)
        kept = []
        for name in sorted(dirs):
            why = rules.why(base / name, is_dir=True)
            if why is None and (base / name).is_symlink():  # os.walk does not follow it: said so
                result.ignored.append((base / name, "a link to a folder (links to folders are not followed)", 0))
            elif why is None:
                kept.append(name)
            else:
                result.ignored.append((base / name, why, _count(base / name)))
        dirs[:] = kept
        for name in sorted(files):
            path = base / name
            why = rules.why(path)
            if why is not None:
                result.ignored.append((path, why, 1))
                continue
            try:
                mode = path.lstat().st_mode
            except OSError:  # gone since the folder was listed
                continue
            if stat.S_ISLNK(mode):
                if not _followed(path, rules, result):
                    continue
            elif not stat.S_ISREG(mode):  # a pipe, a socket, a device: reading one may never end
                result.ignored.append((path, f"not a regular file ({_kind(mode)})", 1))
                continue
            yield path


def symlink_target(path: Path) -> str | None:
    """The file a symlink at ``path`` leads to (resolved), or None if ``path`` is no symlink.
    Raises OSError for a link to nothing or a loop."""
    if not path.is_symlink():
        return None
    try:
        return str(path.resolve(strict=True))
    except RuntimeError as exc:  # a loop, on Pythons that say so this way
        raise OSError(errno.ELOOP, str(exc)) from exc


def _followed(link: Path, rules: IgnoreRules, result: ScanResult) -> bool:
    """Whether the symlink ``link`` is indexed; if not, it is recorded with the reason."""
    target, why = rules.link_target(link)
    if target is None:
        if why == "outside":
            result.outside_links.append(link)
        else:
            result.ignored.append((link, why, 1))
    return target is not None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"
