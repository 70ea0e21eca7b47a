"""Which files under some roots are documents: ignore rules, hidden files, symlinks.

Defaults skip version-control folders, virtual environments, caches, editor temp and lock
files and hidden files. A ``.ragignore`` file (gitignore syntax) in any folder adds rules
for that folder and below. Symlinks are followed only to files inside the roots.
"""

from __future__ import annotations

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


def _spec_for(folder: Path) -> pathspec.GitIgnoreSpec | None:
    rules = folder / IGNORE_FILE
    try:
        return pathspec.GitIgnoreSpec.from_lines(rules.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return None


class IgnoreRules:
    """Decides whether a path is ignored, given the roots and their ``.ragignore`` files."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
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

    def ignored(self, path: Path, is_dir: bool = False) -> bool:
        root = self.root_of(path)
        if root is None:
            return True
        if path == root:
            return False
        rel = path.relative_to(root).as_posix() + ("/" if is_dir else "")
        if _DEFAULT_SPEC.match_file(rel):
            return True
        # .ragignore files from the root down to the path's folder, each relative to its folder
        folder = root
        for part in path.relative_to(root).parts[:-1] or ():
            spec = self._spec(folder)
            if spec is not None and spec.match_file(path.relative_to(folder).as_posix() + ("/" if is_dir else "")):
                return True
            folder = folder / part
        spec = self._spec(folder)
        return spec is not None and spec.match_file(path.relative_to(folder).as_posix() + ("/" if is_dir else ""))


def scan(roots: Iterable[Path], extensions: frozenset[str], within: Iterable[Path] = ()) -> ScanResult:
    """Every document file under ``roots`` (a root may also be a single file). ``within``
    names the folders whose ``.ragignore`` rules apply (the watched folders when a watcher
    scans one changed path inside them); by default the roots themselves."""
    paths = [Path(os.path.abspath(r)) for r in roots]
    rules = IgnoreRules(within or paths)
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
    if root.is_file():
        yield root
        return
    if not root.is_dir():
        return
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if not rules.ignored(base / d, is_dir=True))
        for name in sorted(files):
            path = base / name
            if rules.ignored(path):
                continue
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISLNK(mode):
                target = path.resolve()
                if rules.root_of(target) is None or not target.is_file():
                    result.outside_links.append(path)
                    continue
            elif not stat.S_ISREG(mode):
                continue
            yield path
