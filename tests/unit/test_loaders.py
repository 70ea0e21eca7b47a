from __future__ import annotations

from pathlib import Path

import pytest

from ingest import LoadError, load, loader_for
from ingest.loaders import html_to_text
from tests.conftest import SAMPLES


def test_pdf_gives_one_section_per_page_numbered_from_one() -> None:
    sections = load(SAMPLES / "shared-mime-info-spec.pdf")
    pages = [s.page for s in sections]
    assert len(pages) > 5
    assert pages == sorted(pages) and pages[0] == 1
    assert all(s.offset == 0 for s in sections)
    assert any("MIME" in s.text for s in sections)


def test_markdown_keeps_heading_path_and_file_offsets(tmp_path: Path) -> None:
    text = (
        "Intro line.\n\n# Title\n\nAbout.\n\n## Part A\n\nAlpha text.\n\n### Deep\n\nDeep text.\n\n## Part B\n\nBeta.\n"
    )
    path = tmp_path / "doc.md"
    path.write_text(text)
    sections = load(path)
    assert [s.heading_path for s in sections] == [
        (),
        ("Title",),
        ("Title", "Part A"),
        ("Title", "Part A", "Deep"),
        ("Title", "Part B"),
    ]
    for s in sections:
        assert text[s.offset : s.offset + len(s.text)] == s.text
    assert all(s.title == "Title" for s in sections)


def test_html_drops_scripts_and_navigation() -> None:
    title, text = html_to_text(
        "<html><head><title>T</title><script>var x=1;</script></head>"
        "<body><nav>Home | About</nav><p>Real <b>content</b> here.</p><script>evil()</script>"
        "<footer>(c) site</footer></body></html>"
    )
    assert title == "T"
    assert text == "Real content here."


def test_html_sample_has_text() -> None:
    (section,) = load(SAMPLES / "zlib_how.html")
    assert "inflate" in section.text and "<p>" not in section.text


def test_text_in_latin1_is_decoded_not_mangled(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_bytes(
        "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve fa\u00e7ade, \u00e9l\u00e8ve \u00e0 l'\u00e9cole.\n".encode(
            "latin-1"
        )
        * 3
    )
    (section,) = load(path)
    assert "Caf\u00e9 cr\u00e8me" in section.text


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "u16.txt"
    path.write_bytes("\ufeffHello UTF-16 world".encode("utf-16-le"))
    assert load(path)[0].text == "Hello UTF-16 world"


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("binary.txt", b"\x00\x01\x02\xffgarbage" * 100, "binary"),
        ("empty.md", b"", "no extractable text"),
        ("blank.txt", b"   \n\n  ", "no extractable text"),
        ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "PDF"),
        ("image.png", b"\x89PNG\r\n", "unsupported file type"),
    ],
)
def test_bad_input_raises_load_error_with_reason(tmp_path: Path, name: str, content: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_unreadable_file_is_a_load_error(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(LoadError, match="cannot read"):
        load(path)


def test_registry_is_by_extension_case_insensitive() -> None:
    assert loader_for(Path("A.PDF")) is loader_for(Path("b.pdf"))
    assert loader_for(Path("x.unknown")) is None
