"""``ragkit timeline``: files and an entity's mentions counted by date, against counts made by
hand from the dates the files were given (an e-mail dated by its own Date header, the rest by
their modification time)."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

from tests.helpers.cli import ragkit

ANA = "ana@harbour.org"
MAIL = (
    "From: clerk@port.example\nTo: board@port.example\nSubject: Quay\nDate: Tue, 02 May 2023 09:30:00 +0000\n"
    "Message-ID: <quay-1@port.example>\n\nThe harbour quay repairs start in June.\n"
)


def dated_archive(tmp_path: Path) -> Path:
    home, docs = tmp_path / "home", tmp_path / "docs"
    docs.mkdir()
    files = {
        "a.txt": (f"The harbour crane was ordered by {ANA}.\n", "2023-03-10"),
        "b.txt": ("The harbour budget was approved.\n", "2023-03-25"),
        "c.txt": (f"The harbour crane arrived; {ANA} signed, and {ANA} paid.\n", "2024-01-05"),
        "d.eml": (MAIL, "2025-06-30"),  # its own date (May 2023) counts, not the file's
    }
    for name, (text, day) in files.items():
        place = docs / ("early" if name in ("a.txt", "b.txt") else "late") / name
        place.parent.mkdir(exist_ok=True)
        place.write_text(text)
        stamp = time.mktime(time.strptime(day + " 12:00", "%Y-%m-%d %H:%M"))
        os.utime(place, (stamp, stamp))
    assert ragkit("index", docs, home=home).code == 0
    return home


def counts(home: Path, *args: str) -> dict[str, tuple[int, int | None]]:
    shown = ragkit("timeline", *args, "--json", home=home)
    assert shown.code == 0, shown.stderr
    return {p["period"]: (p["files"], p.get("mentions")) for p in shown.json()["periods"]}


def test_files_and_mentions_are_counted_by_date_as_counted_by_hand(tmp_path: Path) -> None:
    home = dated_archive(tmp_path)
    assert counts(home) == {"2023-03": (2, None), "2023-05": (1, None), "2024-01": (1, None)}
    assert counts(home, "--by", "year") == {"2023": (3, None), "2024": (1, None)}
    assert counts(home, "crane", "--by", "day") == {"2023-03-10": (1, None), "2024-01-05": (1, None)}
    assert counts(home, "--entity", ANA) == {"2023-03": (1, 1), "2024-01": (1, 2)}
    periods = ragkit("timeline", "harbour", "--json", home=home).json()["periods"]
    assert {p["period"]: p["dated_by"] for p in periods}["2023-05"] != {"file mtime": 1}  # the e-mail's own date
    rows = list(csv.DictReader(ragkit("timeline", "--by", "year", "--csv", home=home).stdout.splitlines()))
    assert [(r["period"], r["files"], r["by_document_date"], r["by_file_mtime"]) for r in rows] == [
        ("2023", "3", "1", "2"), ("2024", "1", "0", "1"),
    ]  # fmt: skip
    bars = ragkit("timeline", home=home).stdout.splitlines()
    assert [line.split()[0] for line in bars] == ["2023-03", "2023-05", "2024-01"]
    assert ragkit("timeline", "nothing-matches-this", home=home).stdout.startswith("nothing dated matches")


def test_a_server_counts_a_keys_own_files_only(tmp_path: Path) -> None:
    from tests.helpers.servers import create_keys, serving

    home = dated_archive(tmp_path)
    docs = tmp_path / "docs"
    for name in ("early", "late"):
        assert ragkit("collections", "add", name, docs / name, home=home).code == 0
    keys = create_keys(home, [("all", []), ("early", ["--collections", "early"])])
    with serving(home, tmp_path) as url:

        def served(key: str, *args: str) -> dict[str, tuple[int, int | None]]:
            shown = ragkit("--server", url, "timeline", *args, "--json", home=home, env={"RAGKIT_API_KEY": keys[key]})
            assert shown.code == 0, shown.stderr
            return {p["period"]: (p["files"], p.get("mentions")) for p in shown.json()["periods"]}

        assert served("all") == counts(home)
        assert served("early") == {"2023-03": (2, None)}
        assert served("early", "--entity", ANA) == {"2023-03": (1, 1)}  # the mentions in its own files
