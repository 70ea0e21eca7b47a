"""Every real odd PDF from py-pdf is either indexed or failed with a reason: no crash, no hang."""

from __future__ import annotations

from pathlib import Path

from ragkit import open_ragkit
from tests.conftest import shared_data
from tests.helpers.index import assert_consistent

KNOWN_REASONS = ("password", "no text layer", "damaged", "could not be read", "unsupported feature")


def test_every_shared_pdf_is_indexed_or_failed_with_a_reason() -> None:
    root = shared_data("pdfs")
    pdfs = sorted(str(p) for p in root.rglob("*.pdf"))
    assert len(pdfs) > 90
    rk = open_ragkit(index={"parse_timeout_s": 60})
    report = rk.index([root])
    recorded = {row.path: row for row in rk.library.manifest.files() if row.path.endswith(".pdf")}
    assert sorted(recorded) == pdfs  # nothing silently skipped
    for row in recorded.values():
        if row.status == "failed":
            assert row.error and any(reason in row.error for reason in KNOWN_REASONS), (row.path, row.error)
    failed = {Path(f["path"]).name for f in report.failed}
    assert "r4-user-password.pdf" in failed  # a real password is needed
    assert "r6-empty-password.pdf" not in failed  # an empty password opens
    ok = [r for r in recorded.values() if r.status == "ok"]
    assert len(ok) > len(recorded) * 0.6
    assert_consistent(rk)
