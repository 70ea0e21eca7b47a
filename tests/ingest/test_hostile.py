"""Hostile input to every loader: random bytes, mutated real files, zip bombs dressed as
documents, nesting and entity expansion. Whatever comes in, a loader gives sections or
ingest's own LoadError with a reason: never another exception, never a hang."""

from __future__ import annotations

import io
import mailbox
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import LoadError, load_document, loader_for, supported_extensions
from tests.helpers.documents import make_docx, make_message
from tests.helpers.pdfmaker import pdf, text_page


def _zip(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _epub(chapter: str) -> bytes:
    return _zip({
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": '<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
        '<rootfile full-path="OEBPS/content.opf"/></rootfiles></container>',
        "OEBPS/content.opf": '<package xmlns="http://www.idpf.org/2007/opf"><manifest><item id="c1" href="one.xhtml"/>'
        '</manifest><spine><itemref idref="c1"/></spine></package>',
        "OEBPS/one.xhtml": chapter,
    })  # fmt: skip


def seeds(tmp: Path) -> dict[str, bytes]:
    """A valid file of each kind of loader, to mutate."""
    box = tmp / "seed.mbox"
    mbox = mailbox.mbox(box)
    mbox.add(make_message("Seed", "A seed message.\n"))
    mbox.flush()
    mbox.close()
    tar = io.BytesIO()
    import tarfile

    with tarfile.open(fileobj=tar, mode="w") as archive:
        data = b"a member of a tar\n"
        info = tarfile.TarInfo("inner/note.txt")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    import gzip

    return {
        ".txt": "Plain text, with ünïcode and a second line.\n".encode(),
        ".md": b"# Title\n\nSome *markdown* text.\n\n## Part\n\nMore.\n",
        ".html": b"<html><head><title>T</title></head><body><p>Hello <b>world</b></p></body></html>",
        ".csv": b"name,city\nAda,London\nGrace,Arlington\n",
        ".json": b'{"name": "Ada", "items": [1, 2, {"deep": "value"}]}',
        ".xml": b"<?xml version='1.0'?><root><item>text</item></root>",
        ".py": b"def f(x):\n    return x + 1\n",
        ".pdf": pdf([text_page("a seed page"), text_page("a second page", compress=True)]),
        ".docx": make_docx(tmp / "seed.docx", [("Title", "Seed"), ("", "A paragraph.")]).read_bytes(),
        ".epub": _epub("<html><body><p>Chapter text.</p></body></html>"),
        ".eml": bytes(make_message("Seed", "A seed e-mail.\n", ("notes.txt", b"attached words\n"))),
        ".mbox": box.read_bytes(),
        ".zip": _zip({"inner/note.txt": "a member of a zip\n", "inner/page.pdf": pdf([text_page("zipped pdf")])}),
        ".tar": tar.getvalue(),
        ".gz": gzip.compress(b"gzipped text\n"),
    }


SEEDED = (".txt", ".md", ".html", ".csv", ".json", ".xml", ".py", ".pdf", ".docx", ".epub", ".eml", ".mbox",
          ".zip", ".tar", ".gz")  # fmt: skip


def kinds() -> list[str]:
    """One extension for each loader there is, a seeded one where it can (a new loader joins
    these tests by itself)."""
    by_loader: dict[object, str] = {}
    for ext in [*SEEDED, *sorted(supported_extensions())]:
        by_loader.setdefault(loader_for(Path("x" + ext)), ext)
    return sorted(by_loader.values())


def mutate(data: bytes, edits: list[tuple[int, int, int]], cut: int | None) -> bytes:
    """``data`` with bytes overwritten, inserted or deleted at the given places, then cut."""
    out = bytearray(data)
    for kind, at, value in edits:
        if not out:
            break
        at %= len(out)
        if kind == 0:
            out[at] = value
        elif kind == 1:
            out[at:at] = bytes([value]) * (1 + value % 7)
        else:
            del out[at : at + 1 + value % 13]
    return bytes(out[:cut] if cut is not None else out)


def only_load_errors(path: Path) -> None:
    try:
        load_document(path)
    except LoadError as exc:
        assert str(exc), "a LoadError must say why"


def test_every_loader_has_a_seed(tmp_path: Path) -> None:
    known = seeds(tmp_path)
    assert set(known) == set(SEEDED)
    missing = [ext for ext in kinds() if ext not in known]
    assert not missing, f"no seed for {missing}: add one so the loader is fuzzed"


@pytest.mark.parametrize("ext", kinds())
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])  # examples: tests/conftest.py
@given(
    edits=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1 << 20), st.integers(0, 255)), max_size=12),
    cut=st.none() | st.integers(0, 4096),
    noise=st.binary(max_size=512),
    use_noise=st.booleans(),
)
def test_random_and_mutated_bytes_give_sections_or_a_load_error(
    tmp_path: Path, ext: str, edits: list[tuple[int, int, int]], cut: int | None, noise: bytes, use_noise: bool
) -> None:
    seed = seeds(tmp_path).get(ext, b"some text\n")
    path = tmp_path / f"fuzzed{ext}"
    path.write_bytes(noise if use_noise else mutate(seed, edits, cut))
    only_load_errors(path)


def test_a_charset_with_a_nul_byte_is_read_or_refused_never_raised(tmp_path: Path) -> None:
    """Found by the fuzzer: a part whose charset holds a NUL made ``email`` raise ValueError
    ("embedded null character") out of the loader. The body is read, as bytes decoded leniently."""
    raw = b'From: a@example.org\nSubject: nul\nContent-Type: text/plain; charset="ut\x00f-8"\n\nthe body survives\n'
    path = tmp_path / "nul.eml"
    path.write_bytes(raw)
    assert "the body survives" in load_document(path).sections[0].text
    box = tmp_path / "nul.mbox"
    box.write_bytes(b"From a@example.org Thu Jan  1 00:00:00 2026\n" + raw)
    assert "the body survives" in load_document(box).sections[0].text


def test_a_zip_bomb_dressed_as_a_docx_is_refused_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    body = b"<w:p><w:r><w:t>" + b" " * 20_000_000 + b"</w:t></w:r></w:p>"  # 20 MB of spaces: ~20 kB zipped
    path.write_bytes(_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": body}))
    assert path.stat().st_size < 100_000
    with pytest.raises(LoadError, match="zip bomb"):
        load_document(path)


def test_a_zip_bomb_as_an_epub_chapter_is_refused_with_its_reason(tmp_path: Path) -> None:
    path = tmp_path / "bomb.epub"
    path.write_bytes(_epub("<html><body><p>" + "a" * 30_000_000 + "</p></body></html>"))
    with pytest.raises(LoadError, match="zip bomb"):
        load_document(path)


def test_entity_expansion_in_a_docx_is_refused(tmp_path: Path) -> None:
    laughs = '<!DOCTYPE d [<!ENTITY a "lol">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    ) + "]>"  # fmt: skip
    body = f'<?xml version="1.0"?>{laughs}<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>&j;</w:t></w:r></w:p>'
    path = tmp_path / "laughs.docx"
    path.write_bytes(_zip({"[Content_Types].xml": "<Types/>", "word/document.xml": body + "</w:body></w:document>"}))
    with pytest.raises(LoadError, match="not valid XML"):
        load_document(path)


def test_html_nested_a_hundred_thousand_deep_is_read(tmp_path: Path) -> None:
    path = tmp_path / "deep.html"
    path.write_text("<div>" * 100_000 + "deep words" + "</div>" * 100_000)
    (section,) = load_document(path).sections
    assert section.text.strip() == "deep words"


def test_a_pdf_nested_past_pythons_recursion_limit_is_read_or_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.pdf"
    nested = b"<< /A " * 20_000 + b">>" * 20_000
    path.write_bytes(pdf([text_page("first page"), (b" /Deep " + nested, text_page("second page")[1])]))
    only_load_errors(path)


def test_a_50_mb_csv_on_one_line_is_read_as_one_row(tmp_path: Path) -> None:
    path = tmp_path / "one-line.csv"
    with open(path, "w") as out:
        for _ in range(50):
            out.write("cell," * 200_000)  # 1 MB at a time
        out.write("end")
    assert path.stat().st_size > 50_000_000
    (section,) = load_document(path).sections
    assert section.text.startswith("row 1: cell; cell") and section.text.rstrip().endswith("; end")
