"""The parse workers: time limits, crashes and memory caps fail one file, never the run."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ragkit.index import parsepool
from ragkit.index.embed import PACKAGED_EMBEDDER, resolve_embedder_path
from ragkit.index.parsepool import ParseJob, ParsePool
from tests.conftest import SAMPLES, shared_data

MODEL = resolve_embedder_path(PACKAGED_EMBEDDER)


def jobs(*paths: Path) -> list[ParseJob]:
    return [ParseJob(str(p), p) for p in paths]


def with_test_loaders(*args: Any) -> None:
    """A parse worker that also reads two made-up formats (runs in the child): ``.stall``, whose
    one page never comes, and ``.pages``, ten pages a third of a second apart."""
    from ingest import Section
    from ingest.loaders import register

    @register(".stall")
    def stall(path: Path) -> Any:
        time.sleep(3600)
        yield Section(text="never")

    @register(".pages")
    def pages(path: Path) -> Any:
        for n in range(1, 11):
            time.sleep(0.3)
            yield Section(text=f"Page {n} of the slow report says what page {n} says.", page=n)

    parsepool._worker(*args)


def test_a_stalled_parse_times_out_and_the_next_file_still_parses(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(parsepool, "_worker", with_test_loaders)
    (tmp_path / "stuck.stall").write_text("x")
    pool = ParsePool(MODEL, 254, 24, timeout_s=1)
    results = {
        Path(r.job.key).name: r for r in pool.run(jobs(tmp_path / "stuck.stall", SAMPLES / "users-and-groups.txt"))
    }
    pool.close()
    assert results["stuck.stall"].chunks is None
    assert "no progress for 1 s" in (results["stuck.stall"].error or "")
    assert results["users-and-groups.txt"].chunks


def test_a_long_parse_that_moves_on_is_not_cut_off(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Three seconds in all, a page every 0.3 s, under a 1-second limit: as a long scan read
    page by page by OCR is, on any machine, however many pages it has."""
    monkeypatch.setattr(parsepool, "_worker", with_test_loaders)
    (tmp_path / "report.pages").write_text("x")
    pool = ParsePool(MODEL, 254, 24, timeout_s=1)
    (result,) = pool.run(jobs(tmp_path / "report.pages"))
    pool.close()
    assert result.error is None
    assert {c.page for c in result.chunks or []} == set(range(1, 11))


def slow_to_start(*args: Any) -> None:
    """A parse worker that takes 4 s to start, as one does on a busy machine (runs in the child)."""
    time.sleep(4)
    parsepool._worker(*args)


def test_the_time_limit_counts_parsing_only_not_the_worker_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsepool, "_worker", slow_to_start)  # what the spawned process runs
    pool = ParsePool(MODEL, 254, 24, timeout_s=2)
    (result,) = pool.run(jobs(SAMPLES / "users-and-groups.txt"))
    pool.close()
    assert result.error is None
    assert result.chunks


def test_worker_killed_mid_parse_is_a_recorded_crash(tmp_path: Path) -> None:
    big = shared_data("corpus", "r-manuals-pdf", "fullrefman.pdf")  # 2,415 pages: seconds to parse
    pool = ParsePool(MODEL, 254, 24, timeout_s=60)
    (warm,) = pool.run(jobs(SAMPLES / "zlib_how.html"))
    assert warm.chunks  # a started worker now waits idle, so the kill below lands mid-parse
    original = pool._parse

    def parse_then_kill(worker, job, cancel):  # type: ignore[no-untyped-def]
        if job.path == big:
            threading.Timer(1.0, worker.process.kill).start()
        return original(worker, job, cancel)

    pool._parse = parse_then_kill  # type: ignore[method-assign]
    results = {Path(r.job.key).name: r for r in pool.run(jobs(big, SAMPLES / "zlib_how.html"))}
    assert "crashed" in (results["fullrefman.pdf"].error or "")
    assert results["zlib_how.html"].chunks


def test_stop_abandons_the_parse_under_way_and_reports_nothing_for_it() -> None:
    big = shared_data("corpus", "r-manuals-pdf", "fullrefman.pdf")  # seconds to parse
    pool = ParsePool(MODEL, 254, 24, timeout_s=60)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    results = list(pool.run(jobs(big, SAMPLES / "zlib_how.html"), stop=stop))
    assert results == []  # neither the abandoned file nor the one after it is reported
    assert stop.is_set()
    again = {Path(r.job.key).name: r for r in pool.run(jobs(SAMPLES / "zlib_how.html"))}
    assert again["zlib_how.html"].chunks  # the pool still works after a stop
    pool.close()


def test_memory_cap_fails_the_file_with_a_reason(tmp_path: Path) -> None:
    huge = tmp_path / "huge.txt"
    line = b"a line of text that repeats and repeats until the file is very large indeed\n"
    with huge.open("wb") as handle:
        for _ in range(40):
            handle.write(line * 80_000)  # about 6 MB a time, 250 MB in all
    pool = ParsePool(MODEL, 254, 24, timeout_s=120, memory_mb=600)
    results = list(pool.run(jobs(huge, SAMPLES / "zlib_how.html")))
    by_name = {Path(r.job.key).name: r for r in results}
    assert by_name["huge.txt"].chunks is None
    assert "memory" in (by_name["huge.txt"].error or "")
    assert by_name["zlib_how.html"].chunks  # the worker was replaced
