from ragkit.llm.guard import RepetitionGuard


def feed_all(guard: RepetitionGuard, pieces: list[str]) -> str:
    shown = ""
    for piece in pieces:
        shown += guard.feed(piece)
        if guard.stopped:
            break
    return shown + guard.flush()


def test_stops_at_first_repeated_sentence() -> None:
    guard = RepetitionGuard()
    text = "Zlib compresses data in memory. It uses deflate. Zlib compresses data in memory. More."
    shown = feed_all(guard, list(text))
    assert guard.stopped
    assert shown == "Zlib compresses data in memory. It uses deflate."


def test_passes_text_without_repetition() -> None:
    guard = RepetitionGuard()
    text = "First sentence is here. Second one differs. Tail without end"
    assert feed_all(guard, [text[:10], text[10:]]) == text
    assert not guard.stopped


def test_short_sentences_may_repeat() -> None:
    guard = RepetitionGuard()
    assert feed_all(guard, ["Yes. Yes. Done here."]) == "Yes. Yes. Done here."


def test_citation_markers_do_not_hide_a_repeat() -> None:
    guard = RepetitionGuard()
    shown = feed_all(
        guard, ["The root account uses uid zero on Debian [1]. The root account uses uid zero on Debian [2]. "]
    )
    assert shown == "The root account uses uid zero on Debian [1]."


def test_close_paraphrase_counts_as_repetition() -> None:
    guard = RepetitionGuard()
    shown = feed_all(
        guard,
        [
            "The inflate function decides when the compressed stream has ended by calling deflateEnd. ",
            "The inflate function decides this by calling the deflateEnd method when the stream ended. ",
        ],
    )
    assert guard.stopped
    assert shown.startswith("The inflate function decides when") and "method" not in shown
