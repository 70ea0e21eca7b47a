from __future__ import annotations

from ragkit.answer.attribution import attribute, best_span
from ragkit.search.retrieve import Hit

ZLIB = (
    "The inflate() function decompresses data. When the end of the compressed stream is reached, "
    "inflate() returns Z_STREAM_END. The caller must then call inflateEnd() to free memory."
)
USERS = "The root user has uid 0. The daemon user exists for unprivileged daemons. Bin is historic."


def hit(text: str, path: str, page: int | None = None, start: int = 100) -> Hit:
    return Hit(id=path, doc=path, path=path, page=page, start=start, end=start + len(text), score=0.8, text=text)


SOURCES = [hit(ZLIB, "/d/zlib_how.html"), hit(USERS, "/d/users.txt", page=3, start=40)]


def test_best_span_finds_the_backing_sentence_with_absolute_offsets() -> None:
    score, start, end = best_span("inflate returns Z_STREAM_END at the end of the stream", ZLIB)
    assert score >= 0.8
    assert "Z_STREAM_END" in ZLIB[start:end]
    assert "inflateEnd" not in ZLIB[start:end]


def test_correct_model_citation_is_verified() -> None:
    result = attribute("At the end of the stream inflate returns Z_STREAM_END [1].", SOURCES)
    assert result.by == "model"
    (citation,) = result.citations
    assert (citation.n, citation.verified, citation.by) == (1, True, "model")
    assert citation.path == "/d/zlib_how.html"
    assert ZLIB[citation.start - 100 : citation.end - 100] == citation.quote
    assert "Z_STREAM_END" in citation.quote


def test_wrong_number_citation_is_not_verified() -> None:
    result = attribute("At the end of the stream inflate returns Z_STREAM_END [2].", SOURCES)
    (citation,) = result.citations
    assert citation.n == 2 and not citation.verified
    assert not result.sentences[0].supported


def test_out_of_range_marker_is_ignored_and_sentence_unsupported() -> None:
    result = attribute("Inflate returns Z_STREAM_END at stream end [1]. The moon is made of cheese [7].", SOURCES)
    assert [c.n for c in result.citations] == [1]
    assert [s.supported for s in result.sentences] == [True, False]


def test_unsupported_sentence_is_marked() -> None:
    result = attribute("Penguins enjoy the cold Antarctic climate [1].", SOURCES)
    assert not result.any_verified
    assert result.sentences[0].supported is False


def test_without_markers_sentences_are_matched_to_sources() -> None:
    answer = "The root user has uid 0 on the system. Inflate returns Z_STREAM_END when the stream ends."
    result = attribute(answer, SOURCES)
    assert result.by == "match"
    assert [(c.n, c.page, c.verified) for c in result.citations] == [(2, 3, True), (1, None, True)]
    assert "root user has uid 0" in result.citations[0].quote
    assert result.citations[0].start == 40 + USERS.index("The root user")


def test_no_match_gives_no_citation() -> None:
    result = attribute("Bananas are yellow fruit grown in the tropics.", SOURCES)
    assert result.citations == []
    assert not result.any_verified


def test_a_number_not_in_the_source_is_never_verified() -> None:
    result = attribute("The root user has uid 41 [2].", SOURCES)
    assert not result.citations[0].verified
    assert attribute("The root user has uid 0 [2].", SOURCES).citations[0].verified


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before() -> None:
    source = hit("Each application installs a single XML file into the packages directory.", "/d/spec.pdf")
    result = attribute("Each application installs a single XML file into the packages directory. [1]", [source])
    assert result.by == "model" and len(result.sentences) == 1
    assert result.citations[0].verified and result.sentences[0].supported


def test_a_short_sentence_is_checked_like_any_other() -> None:
    result = attribute("The root user has uid 0 [2]. Uid 41 [2].", SOURCES)
    assert [s.supported for s in result.sentences] == [True, False]
    assert not result.grounded  # one factual sentence is not backed


def test_small_talk_is_neither_checked_nor_counted() -> None:
    result = attribute("Sure! The root user has uid 0 [2]. I hope this helps.", SOURCES)
    assert [s.factual for s in result.sentences] == [False, True, False]
    assert result.grounded and result.unsupported == []
    assert not attribute("Sure! I hope this helps.", SOURCES).grounded  # nothing was said


def test_a_marker_after_the_full_stop_belongs_to_the_sentence_before_also_mid_answer() -> None:
    answer = "The root user has uid 0. [2] Inflate returns Z_STREAM_END when the stream ends. [1]"
    result = attribute(answer, SOURCES)
    assert [s.text for s in result.sentences] == [
        "The root user has uid 0. [2]",
        "Inflate returns Z_STREAM_END when the stream ends. [1]",
    ]
    assert result.grounded and [c.n for c in result.citations] == [2, 1]


def test_words_in_any_script_count() -> None:
    source = hit("Die Brücke über die Weiße Elster wurde 1887 in Zürich gebaut.", "/d/de.txt")
    assert attribute("Die Brücke über die Weiße Elster wurde 1887 gebaut [1].", [source]).grounded
    assert not attribute("Die Brücke über die Weiße Elster wurde 1887 in Genève gebaut [1].", [source]).grounded


def test_a_pdf_line_break_inside_a_sentence_does_not_cut_the_window() -> None:
    text = (
        "Each application\nthat wishes to contribute\nto the shared MIME database will install\n"
        "a single XML file, named after the application,\ninto one of the three packages directories."
    )
    claim = text.replace("\n", " ").removesuffix(".")
    result = attribute(f"{claim} [1].", [hit(text, "/d/s.pdf")])
    assert result.grounded
    quote = result.citations[0].quote
    assert quote.startswith("Each application") and "packages directories" in quote


MIME = "Each application installs its XML source file in /usr/share/mime/packages. The updater reads it from there."


def test_a_file_path_the_source_does_not_hold_is_not_verified() -> None:
    sources = [hit(MIME, "/d/mime.txt")]
    right = attribute("Each application installs its XML source file in /usr/share/mime/packages [1].", sources)
    assert right.sentences[0].supported
    # the same words, one letter off in the path: only the path check tells
    invented = attribute("Each application installs its XML source file in /usr/share/mime/package [1].", sources)
    assert not invented.sentences[0].supported


def test_a_decimal_point_ends_no_sentence() -> None:
    from ragkit.answer.attribution import split_sentences

    text = "The cooperative pressed 2.3 million litres in 2022. Most of it is sold in Bergen."
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "The cooperative pressed 2.3 million litres in 2022.",
        "Most of it is sold in Bergen.",
    ]
