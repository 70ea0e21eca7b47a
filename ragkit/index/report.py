"""What an index run reports: its counts, failures and warnings as it ends, and its progress
while it runs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class IndexReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    renamed: int = 0
    skipped: int = 0
    embedded: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    files: int = 0
    chunks: int = 0
    cancelled: bool = False  # stopped before the end: what was done is committed, the rest waits
    new_matches: dict[str, int] = field(default_factory=dict)  # saved search -> passages it had not matched
    entities: int = 0  # documents whose entities were found after the run
    ignored: list[dict[str, object]] = field(default_factory=list)  # {"path", "rule", "files"} the rules left out
    rebuilt: str = ""  # why the run rebuilt the index by itself (made by an earlier chunker, say), if it did
    workers: dict[str, int] = field(default_factory=dict)  # files each of a cluster's workers did (index.cluster)

    def as_dict(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "renamed": self.renamed,
            "skipped": self.skipped,
            "embedded": self.embedded,
            "failed": self.failed,
            "warnings": self.warnings,
            "files": self.files,
            "chunks": self.chunks,
            "cancelled": self.cancelled,
            "new_matches": self.new_matches,
            "entities": self.entities,
            "ignored": sum(int(str(i["files"])) for i in self.ignored),  # files under the roots left out by a rule
            "ignored_paths": self.ignored[:1000],
            "rebuilt": self.rebuilt,
            "workers": self.workers,
        }


@dataclass(frozen=True)
class Progress:
    phase: str  # "scan" | "index" | "done"
    done: int
    total: int
    chunks: int
    path: str = ""
    workers: tuple[tuple[str, int], ...] = ()  # (worker, files done) on a cluster
