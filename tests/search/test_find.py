"""ragkit find and the keyword index: exhaustive (counts equal a brute-force scan of the
chunk texts), filtered, in step with every change to the files, migrated into old indexes,
and ranked by file names too."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from ragkit.assistant.local import Ragkit, open_ragkit
from ragkit.search.query import parse
from ragkit.search.query_tree import And, Near, Node, Not, Or, Phrase, Term
from ragkit.search.retrieve import Hit
from ragkit.storage.migrations import MIGRATIONS
from tests.conftest import SAMPLES
from tests.helpers.cli import ragkit
from tests.helpers.documents import write_corpus
from tests.helpers.index import assert_consistent


def fold(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return [fold(w) for w in re.split(r"[\W_]+", text) if w]


def matches(node: Node, columns: list[list[str]], vocabulary: set[str]) -> bool:
    """The brute-force meaning of ``node`` on one chunk (its columns' words)."""
    if isinstance(node, Term):
        target = fold(node.word)
        if node.edits:
            near = {w for w in vocabulary if Levenshtein.distance(w, target) <= node.edits}
            return any(w in near for col in columns for w in col)
        if node.prefix:
            return any(w.startswith(target) for col in columns for w in col)
        return any(target in col for col in columns)
    if isinstance(node, Phrase):
        seq = [fold(w) for w in node.words]
        return any(col[i : i + len(seq)] == seq for col in columns for i in range(len(col)))
    if isinstance(node, Near):
        a, b = (fold(w) for w in node.words)
        for col in columns:
            at_a = [i for i, w in enumerate(col) if w == a]
            at_b = [i for i, w in enumerate(col) if w == b]
            if any(abs(i - j) - 1 <= node.distance for i in at_a for j in at_b):
                return True
        return False
    if isinstance(node, And):
        return all(
            not matches(p.part, columns, vocabulary) if isinstance(p, Not) else matches(p, columns, vocabulary)
            for p in node.parts
        )
    if isinstance(node, Or):
        return any(matches(p, columns, vocabulary) for p in node.parts)
    raise AssertionError(node)


QUERIES = [
    "acme",
    "ACME",
    "mueller OR müller",
    "muller",
    "cafe",
    "zoe",
    '"by the"',
    "jean-luc",
    "x.ray@acme.com",
    "2,500 10-K",
    "pay*",
    "invoice -draft",
    "invoice NOT (draft OR audit)",
    "(tolsvik OR harbour) payment -audit",
    "NEAR(tolsvik payment, 12)",
    '"acme ledger"~15',
    "tolsvk~1",
    "minster~2 bank",
]


def test_find_counts_equal_a_brute_force_scan(rk: Ragkit, tmp_path: Path) -> None:
    write_corpus(tmp_path / "docs")
    rk.index([tmp_path / "docs"])
    db = rk.library.manifest.db
    chunks = {cid: [words(text)] for cid, text in db.execute("SELECT id, text FROM chunks")}
    vocabulary = {w for cols in chunks.values() for col in cols for w in col}
    assert len(chunks) > 30
    for query in QUERIES:
        tree = parse(query).tree
        assert tree is not None
        expected = {cid for cid, cols in chunks.items() if matches(tree, cols, vocabulary)}
        result = rk.find(query, limit=None)
        assert result.total == len(expected), query
        assert {h.id for h in result.hits} == expected, query
        assert sum(count for _, count in result.files) == result.total
        assert 0 < len(expected) < len(chunks), f"{query}: the corpus should make this query discriminate"


def test_hits_are_highlighted_paged_and_ranked(rk: Ragkit, tmp_path: Path) -> None:
    write_corpus(tmp_path / "docs")
    rk.index([tmp_path / "docs"])
    everything = rk.find("tolsvik", limit=None)
    page_two = rk.find("tolsvik", offset=5, limit=5)
    assert page_two.total == everything.total
    assert [h.id for h in page_two.hits] == [h.id for h in everything.hits[5:10]]
    scores = [h.score for h in everything.hits]
    assert scores == sorted(scores, reverse=True)
    for hit in everything.hits:
        assert "\x02tolsvik\x03" in hit.snippet.lower()
        text = Path(hit.path).read_text("utf-8")
        assert "tolsvik" in text[hit.start : hit.end].lower()  # the span holds the hit
        # and the matched words' own spans hold exactly them, every one of them
        span = text[hit.start : hit.end]
        assert [text[a:b].lower() for a, b in hit.matches] == ["tolsvik"] * len(re.findall(r"\btolsvik\b", span, re.I))
        assert hit.matches
    accented = rk.find('"Zoë" OR cafe', limit=None)
    assert accented.hits
    for hit in accented.hits:
        text = Path(hit.path).read_text("utf-8")
        assert hit.matches and {fold(text[a:b]) for a, b in hit.matches} <= {"zoe", "cafe"}


@pytest.mark.parametrize("lookup", [2_000, 0], ids=["files-looked-up", "every-file-read"])
def test_filters_select_files_by_path_type_and_date(
    rk: Ragkit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lookup: int
) -> None:
    from ragkit.storage import text_index

    monkeypatch.setattr(text_index, "PLACES_LOOKUP_MAX", lookup)  # both ways to the files of the hits
    docs = tmp_path / "docs"
    (docs / "2023").mkdir(parents=True)
    (docs / "2024").mkdir()
    (docs / "2023" / "acme-old.txt").write_text("Acme paid the harbour fee.\n")
    (docs / "2024" / "acme-new.md").write_text("# Fees\n\nAcme paid the harbour fee again.\n")
    (docs / "2024" / "other.txt").write_text("Acme paid nothing.\n")
    for path, day in (
        ("2023/acme-old.txt", "2023-03-10"),
        ("2024/acme-new.md", "2024-05-02"),
        ("2024/other.txt", "2024-07-01"),
    ):
        stamp = time.mktime(time.strptime(day + " 12:00", "%Y-%m-%d %H:%M"))
        os.utime(docs / path, (stamp, stamp))
    rk.index([docs])

    def names(query: str) -> set[str]:
        return {Path(h.path).name for h in rk.find(query, limit=None).hits}

    assert names("acme") == {"acme-old.txt", "acme-new.md", "other.txt"}
    assert names("acme type:md") == {"acme-new.md"}
    assert names("acme type:txt") == {"acme-old.txt", "other.txt"}
    assert names("acme path:acme-*") == {"acme-old.txt", "acme-new.md"}
    assert names("acme path:2024/*") == {"acme-new.md", "other.txt"}
    assert names("acme after:2024") == {"acme-new.md", "other.txt"}
    assert names("acme before:2024-05-02") == {"acme-old.txt", "acme-new.md"}  # the whole day counts
    assert names("acme after:2024-05-03 before:2024-06") == set()
    assert names("type:txt") == {"acme-old.txt", "other.txt"}  # filters alone: every passage they select
    hit = rk.find("acme type:md").hits[0]
    assert hit.date.startswith("2024-05-02") and hit.date_source == "file mtime"
    # the same filters apply to search
    assert {Path(h.path).name for h in rk.search("harbour fee type:txt", k=5)} == {"acme-old.txt", "other.txt"}
    assert {Path(h.path).name for h in rk.search("harbour fee after:2024-06", k=5)} == {"other.txt"}


def test_a_scoped_find_expands_fuzzy_terms_only_to_words_of_its_own_files(rk: Ragkit, tmp_path: Path) -> None:
    """The vocabulary spans every folder; a find limited to some (a server key's collections)
    must not name, in its expansions, a word only the others hold."""
    from ragkit.storage.filters import Filters

    docs = tmp_path / "docs"
    (docs / "open").mkdir(parents=True)
    (docs / "closed").mkdir()
    (docs / "open" / "note.txt").write_text("The harbour master signed for Nordby Freight.\n")
    (docs / "closed" / "pay.txt").write_text("Nordhavn Shipping paid the harbour master.\n")
    rk.index([docs])
    everything = rk.find("nordhavn~2")
    assert everything.expansions["nordhavn~2"] == ["nordhavn"] and everything.total == 1
    scoped = rk.find("nordhavn~2 OR nordby~1", scope=Filters(within=(str(docs / "open"),)))
    assert scoped.total == 1 and scoped.expansions == {"nordhavn~2": [], "nordby~1": ["nordby"]}


def test_the_keyword_index_follows_adds_changes_renames_and_deletes(rk: Ragkit, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The cormorant nests on the northern pier.\n")
    rk.index([docs])
    assert [Path(h.path).name for h in rk.find("cormorant").hits] == ["a.txt"]

    (docs / "a.txt").write_text("The heron nests on the northern pier.\n")  # changed
    (docs / "b.txt").write_text("A cormorant was seen near the ferry.\n")  # added
    rk.index([docs])
    assert [Path(h.path).name for h in rk.find("cormorant").hits] == ["b.txt"]
    assert [Path(h.path).name for h in rk.find("heron").hits] == ["a.txt"]

    (docs / "b.txt").rename(docs / "sightings.txt")  # renamed: re-pointed, not re-embedded
    report = rk.index([docs])
    assert report.embedded == 0
    assert [Path(h.path).name for h in rk.find("cormorant").hits] == ["sightings.txt"]
    assert [c for c, _ in rk.library.keywords.ranked("sightings", 5)]  # the new name is searchable

    (docs / "sightings.txt").unlink()
    rk.index([docs])
    assert rk.find("cormorant").total == 0
    assert not rk.library.keywords.ranked("sightings", 5)
    assert_consistent(rk)


def test_a_file_named_for_the_query_ranks_first(rk: Ragkit, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "ACME_2023_10K.txt").write_text("Revenue grew to 12 million in the year, led by exports.\n")
    (docs / "press.txt").write_text("Acme said its 2023 10-K filing will show revenue figures soon.\n")
    (docs / "unrelated.txt").write_text("The ferry timetable changes in winter.\n")
    rk.index([docs])
    for mode in ("keyword", "hybrid"):
        hits = rk.search("acme 10-K 2023 revenue", k=3, mode=mode)  # type: ignore[arg-type]
        assert Path(hits[0].path).name == "ACME_2023_10K.txt", mode


def test_an_index_from_before_the_keyword_index_gets_one(tmp_path: Path, rk: Ragkit) -> None:
    docs = tmp_path / "docs"
    write_corpus(docs, files=5)
    rk.index([docs])
    before = rk.find("tolsvik", limit=None).total
    with rk.library.manifest.transaction() as db:  # back to schema 3, as an older ragkit left it
        for trigger in ("chunks_fts_insert", "chunks_fts_delete", "chunks_fts_update"):
            db.execute(f"DROP TRIGGER {trigger}")
        for trigger in ("files_fts_insert", "files_fts_delete", "files_fts_update"):
            db.execute(f"DROP TRIGGER {trigger}")
        for trigger in ("chunks_stem_insert", "chunks_stem_delete", "chunks_stem_update"):
            db.execute(f"DROP TRIGGER {trigger}")
        for table in ("chunk_vocab", "chunk_fts", "name_fts", "stem_fts"):
            db.execute(f"DROP TABLE {table}")
        for table in ("entities", "messages"):  # (schemas 7 and 8)
            db.execute(f"DROP TABLE {table}")
        for column in ("date_ns", "date_source", "lang", "entities", "messages_due", "about_due"):
            db.execute(f"ALTER TABLE docs DROP COLUMN {column}")
        db.execute("ALTER TABLE files DROP COLUMN link")  # (schema 11)
        db.execute("ALTER TABLE chunks DROP COLUMN context")  # (schema 12)
        db.execute("ALTER TABLE docs DROP COLUMN minhash")  # (schema 13)
        db.execute("PRAGMA user_version=3")
    rk.close()
    reopened = open_ragkit()
    try:
        assert reopened.library.manifest.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert reopened.find("tolsvik", limit=None).total == before > 0
        # documents indexed before have no date or language of their own: their files' times count
        assert reopened.find("tolsvik after:2000", limit=None).total == before
        assert reopened.find("tolsvik lang:en", limit=None).total == 0
        ranked = reopened.search("tolsvik", 100, mode="keyword")
        assert ranked and all("tolsvik" in (h.text + h.title).lower() for h in ranked)
        assert_consistent(reopened)
    finally:
        reopened.close()


def test_ranked_keyword_search_is_stemmed_and_find_stays_exact(rk: Ragkit, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "genes.txt").write_text("Two mutations of the gene were observed in the cohort.\n")
    (docs / "ships.txt").write_text("The vessel was mutated beyond recognition by the refit.\n")
    (docs / "other.txt").write_text("Nothing about biology or ships here, only the weather.\n")
    rk.index([docs])
    ranked = {Path(h.path).name for h in rk.search("mutation", 10, mode="keyword")}
    assert ranked == {"genes.txt", "ships.txt"}  # mutations, mutated: one stem
    assert [Path(p).name for p, _ in rk.find("mutation", limit=None).files] == []
    assert [Path(p).name for p, _ in rk.find("mutations", limit=None).files] == ["genes.txt"]
    # the stemmed index follows changes as the exact one does
    (docs / "genes.txt").write_text("The cohort showed no change at all.\n")
    rk.index([docs])
    assert {Path(h.path).name for h in rk.search("mutation", 10, mode="keyword")} == {"ships.txt"}
    assert_consistent(rk)


def dated_corpus(docs: Path) -> Path:
    """A PDF with its creation date in its metadata, an e-mail with a Date header, an English
    note whose file is old, and a French one written now."""
    from email.message import EmailMessage

    docs.mkdir()
    shutil.copy(SAMPLES / "shared-mime-info-spec.pdf", docs)  # created 2022-04-29 (its metadata)
    mail = EmailMessage()
    mail["Subject"], mail["From"], mail["Date"] = "Ledger", "ada@example.org", "Tue, 05 Mar 2019 08:30:00 +0000"
    mail.set_content("The quarterly ledger for the harbour office is attached and was approved by the board.\n")
    (docs / "ledger.eml").write_bytes(bytes(mail))
    english = docs / "notes.txt"
    english.write_text("The ledger of the harbour office was checked again and the totals were found to be right.\n")
    old = datetime(2018, 6, 1).timestamp()
    os.utime(english, (old, old))  # no date of its own: its file's time counts
    (docs / "registre.txt").write_text(
        "Le ledger du bureau du port a été vérifié par le conseil et les totaux sont justes pour le trimestre.\n"
    )
    return docs


def dated_names(rk: Ragkit, query: str) -> dict[str, str]:
    """The files ``find`` gives for ``query``, each with where its hit's date came from."""
    return {Path(h.path).name: h.date_source for h in rk.find(query, limit=None).hits}


def test_dates_are_documents_own_where_they_have_one_and_lang_is_their_language(rk: Ragkit, tmp_path: Path) -> None:
    rk.index([dated_corpus(tmp_path / "docs")])

    def names(query: str) -> dict[str, str]:
        return dated_names(rk, query)

    assert names("ledger after:2019-03 before:2019-03") == {"ledger.eml": "e-mail Date header"}
    assert names("ledger before:2018-12") == {"notes.txt": "file mtime"}
    assert set(names("ledger after:2020")) == {"registre.txt"}  # written now
    assert set(names("type:pdf after:2022-04-29 before:2022-04-29").values()) == {"pdf metadata"}
    assert names("type:pdf after:2022-04-30") == {}  # the file is newer, the document is not
    hit = rk.find("ledger type:eml", limit=None).hits[0]
    assert hit.date.startswith("2019-03-05")
    assert set(names("ledger lang:fr")) == {"registre.txt"}
    assert set(names("ledger lang:en")) == {"ledger.eml", "notes.txt"}
    assert {Path(h.path).name for h in rk.search("ledger lang:fr", 10, mode="hybrid")} == {"registre.txt"}
    assert {Path(h.path).name for h in rk.search("ledger before:2019-12", 10, mode="dense")} == {
        "ledger.eml",
        "notes.txt",
    }


def test_documents_indexed_before_dates_were_kept_get_them_on_the_next_run(tmp_path: Path) -> None:
    docs = dated_corpus(tmp_path / "docs")
    rk = open_ragkit()
    rk.index([docs])
    with rk.library.manifest.transaction() as db:  # back to schema 9, as a ragkit without dates left it
        db.execute("UPDATE docs SET date_ns = NULL, date_source = NULL, lang = NULL")
        db.execute("ALTER TABLE docs DROP COLUMN about_due")
        db.execute("ALTER TABLE files DROP COLUMN link")
        db.execute("ALTER TABLE chunks DROP COLUMN context")
        db.execute("ALTER TABLE docs DROP COLUMN minhash")
        db.execute("PRAGMA user_version=9")
    rk.close()
    rk = open_ragkit()
    try:
        assert len(rk.library.manifest.about_due()) == 4  # migrated: due, not yet read
        assert dated_names(rk, "ledger lang:fr") == {}
        assert dated_names(rk, "type:pdf after:2022-04-30") == {"shared-mime-info-spec.pdf": "file mtime"}

        report = rk.index([docs])
        assert report.embedded == 0 and report.added == report.updated == 0  # nothing embedded again
        assert rk.library.manifest.about_due() == []
        assert dated_names(rk, "type:pdf after:2022-04-29 before:2022-04-29") == {
            "shared-mime-info-spec.pdf": "pdf metadata"
        }
        assert dated_names(rk, "type:pdf after:2022-04-30") == {}
        assert dated_names(rk, "ledger after:2019-03 before:2019-03") == {"ledger.eml": "e-mail Date header"}
        assert dated_names(rk, "ledger before:2018-12") == {"notes.txt": "file mtime"}
        assert set(dated_names(rk, "ledger lang:fr")) == {"registre.txt"}
        assert set(dated_names(rk, "ledger lang:en")) == {"ledger.eml", "notes.txt"}
        assert_consistent(rk)
    finally:
        rk.close()


def test_a_hit_names_the_copy_still_on_disk(rk: Ragkit, tmp_path: Path) -> None:
    """Two copies of one file, the first by name deleted with no sync since (no watcher
    running): searches and finds name the copy that is there, and list the other."""
    text = "The Oslo depot stores the quarterly ledgers of the Tolsvik account in room four.\n"
    for folder in ("a-old-checkout", "b-current"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ledger.txt").write_text(text)
    rk.index([tmp_path])
    (tmp_path / "a-old-checkout" / "ledger.txt").unlink()
    current = str(tmp_path / "b-current" / "ledger.txt")
    for mode in ("dense", "keyword", "hybrid"):
        assert rk.search("where are the Tolsvik ledgers stored", 1, mode)[0].path == current, mode
    (hit,) = rk.find("tolsvik").hits
    assert hit.path == current and hit.also == (str(tmp_path / "a-old-checkout" / "ledger.txt"),)


def test_a_hit_names_the_copy_in_the_folder_indexed_last(rk: Ragkit, tmp_path: Path) -> None:
    """Two checkouts of the same files, both on disk, in one index (a shared data directory):
    hits name the copy in the folder this process indexed last (ask --docs, the watcher's
    folders), not the first by name."""
    text = "The Oslo depot stores the quarterly ledgers of the Tolsvik account in room four.\n"
    for folder in ("a-other-checkout", "b-this-checkout"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "ledger.txt").write_text(text)
    rk.index([tmp_path / "a-other-checkout"])
    for chosen in ("b-this-checkout", "a-other-checkout", "b-this-checkout"):
        rk.index([tmp_path / chosen])
        wanted = str(tmp_path / chosen / "ledger.txt")
        assert rk.search("where are the Tolsvik ledgers stored", 1)[0].path == wanted
        assert rk.find("tolsvik").hits[0].path == wanted


def test_find_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    docs = tmp_path / "docs"
    write_corpus(docs, files=8)
    assert ragkit("index", docs, home=home).code == 0
    data = ragkit("find", "tolsvik -draft", "--json", "--all", home=home).json()
    assert set(data) >= {"total", "files", "hits"}
    assert data["total"] == len(data["hits"]) > 0
    assert sum(f["count"] for f in data["files"]) == data["total"]
    assert set(data["hits"][0]) >= {"path", "page", "start", "end", "snippet", "score"}
    assert "**" in data["hits"][0]["snippet"]

    counted = ragkit("find", "tolsvik -draft", "--count", home=home)
    assert counted.code == 0 and f"{data['total']} passage" in counted.stdout

    rows = ragkit("find", "tolsvik -draft", "--csv", "--all", home=home).stdout.splitlines()
    assert rows[0].startswith("path,page,start,end") and len(rows) > data["total"]  # header + one row per hit

    bad = ragkit("find", "(tolsvik", home=home)
    assert bad.code == 1 and "not closed" in bad.stderr and "Traceback" not in bad.stderr

    keyword = ragkit("search", "tolsvik harbour", "--mode", "keyword", "--json", home=home).json()
    assert keyword["hits"]


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    import fcntl

    home = tmp_path / "home"
    docs = tmp_path / "docs"
    write_corpus(docs, files=30)
    assert ragkit("index", docs, home=home).code == 0
    env = dict(os.environ, RAGKIT_HOME=str(home))
    # a pipe of one page, so the output cannot all fit in it before the reader goes away
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragkit.cli.main", "find", "the", "--all"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(write_end)
    assert proc.stderr is not None
    with os.fdopen(read_end, "rb") as stdout:
        stdout.read(10)  # then closed, as `| head` does
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(60) == 141, stderr
    assert "Traceback" not in stderr
    full = ragkit("find", "the", "--all", home=home)
    assert len(full.stdout.encode()) > 2 * 4096  # (the output is larger than the pipe)


def test_eval_beir_reports_every_mode_on_a_beir_folder(tmp_path: Path) -> None:
    import json

    folder = tmp_path / "tiny-beir"
    (folder / "qrels").mkdir(parents=True)
    topics = {
        "d1": ("Lighthouses", "The lighthouse keeper trims the lamp wick every evening on the cape."),
        "d2": ("Bread", "Sourdough bread rises slowly because wild yeast ferments the dough overnight."),
        "d3": ("Glaciers", "Glaciers carve valleys as the ice grinds the bedrock beneath it."),
        "d4": ("Chess", "In chess the knight moves in an L shape and can jump over other pieces."),
        "d5": ("Bees", "Honey bees dance to tell the hive where the flowers with nectar are."),
    }
    with (folder / "corpus.jsonl").open("w") as out:
        for doc, (title, text) in topics.items():
            out.write(json.dumps({"_id": doc, "title": title, "text": text}) + "\n")
    queries = {"q1": "how does a knight move in chess", "q2": "why does sourdough dough rise", "q3": "bees dance"}
    with (folder / "queries.jsonl").open("w") as out:
        for query, text in queries.items():
            out.write(json.dumps({"_id": query, "text": text}) + "\n")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td4\t1\nq2\td2\t1\nq3\td5\t1\n")

    result = ragkit("eval", "beir", folder, "--json", home=tmp_path / "home")
    assert result.code == 0, result.stderr
    rows = {row["mode"]: row for row in result.json()["rows"]}
    assert set(rows) == {"dense", "keyword", "hybrid"}
    for row in rows.values():
        assert row["queries"] == 3
        assert row["mrr@10"] == 1.0 and row["ndcg@10"] == 1.0  # each query names its document's words
        assert 0 < row["p50_ms"] <= row["p95_ms"]

    missing = ragkit("eval", "beir", tmp_path, home=tmp_path / "home")
    assert missing.code == 1 and "corpus.jsonl" in missing.stderr


def test_near_copies_are_one_hit_and_an_answer_gets_neighbouring_chunks_joined(rk: Ragkit, tmp_path: Path) -> None:
    from difflib import SequenceMatcher

    docs = tmp_path / "docs"
    docs.mkdir()
    text = (SAMPLES / "users-and-groups.txt").read_text()
    (docs / "groups.txt").write_text(text)
    (docs / "groups-edited.txt").write_text(text.replace("superuser", "super-user"))  # a near copy
    rk.index([docs])
    for mode in ("dense", "keyword", "hybrid"):
        hits = rk.search("which user id does root have", 6, mode=mode)  # type: ignore[arg-type]
        assert len(hits) == 6
        for i, a in enumerate(hits):
            for b in hits[i + 1 :]:
                assert SequenceMatcher(None, a.text, b.text).ratio() < 0.95, (mode, a.path, b.path)

    def touching(hits: list[Hit]) -> int:
        return sum(
            1
            for i, a in enumerate(hits)
            for b in hits[i + 1 :]
            if a.doc == b.doc and a.page == b.page and b.start <= a.end and a.start <= b.end
        )

    question = "Which groups let their members read the system logs or use sudo?"
    retrieved = rk.answerer.retrieve_for(question, None, 8)
    assert touching(retrieved) > 0  # neighbouring chunks were found: the joining below is tested
    answer = rk.ask(question, mode="extract")
    assert touching(answer.sources) == 0
    for source in answer.sources:  # each joined source is the file's text at its span
        assert Path(source.path).read_text()[source.start : source.end] == source.text
