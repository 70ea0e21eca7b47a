"""How the TUI names a passage's place: the file and page, or a database row's source."""

from __future__ import annotations

from tui.widgets import where


def test_a_file_is_named_with_its_page_and_a_row_by_its_source() -> None:
    assert where({"path": "/docs/a/report.pdf", "page": 3}) == "report.pdf, p. 3"
    assert where({"path": "/docs/a/notes.txt"}) == "notes.txt"
    assert where({"path": "/home/u/.local/share/ragkit/db-rows/office/tickets/12.txt"}) == "db:office/tickets/12"
    assert where({"path": "/h/db-rows/crm/notes/A%2FB.txt"}) == "db:crm/notes/A/B"  # an id with a slash
    assert where({"path": "/h/db-rows/crm/notes/1.txt", "source": "db:crm/notes/1"}) == "db:crm/notes/1"
    assert where({"path": "/docs/db-rows/readme.txt"}) == "readme.txt"  # a folder of that name, not a row


def test_the_short_answer_leading_a_quoted_answer_is_highlighted_and_citations_stay_links() -> None:
    from tui.widgets import answer_markup

    text = "Tarjei Lund, 1931 — The engineer Tarjei Lund had the quay shifted in 1931 [1]."
    markup = answer_markup(text, (), "Tarjei Lund, 1931")
    assert markup.startswith("[b reverse]Tarjei Lund, 1931[/b reverse] — The engineer")
    assert "[@click=app.cite(1)]" in markup
    assert "[b reverse]" not in answer_markup(text)  # no short answer, nothing highlighted
    assert "[b reverse]" not in answer_markup(text, (), "Someone else")  # only the words it starts with
