"""What a question asks for, the words of a sentence that answer it, and which lines of a
passage can never be an answer (headings, page footers)."""

from __future__ import annotations

import numpy as np
import pytest

from ragkit.answer.fit import Question, fit_weights, outcomes
from ragkit.answer.quotes import (
    FEATURES,
    Quote,
    SentenceModel,
    candidates,
    is_boilerplate,
    packaged,
    sentences_of,
    short_answer,
)
from ragkit.answer.spans import PatternSpans, answer_spans, asks, kind_of, novel
from ragkit.search.retrieve import Hit

FIND = PatternSpans()


def hit(text: str) -> Hit:
    return Hit("c1", "d1", "/docs/light.md", None, 100, 100 + len(text), 0.9, text)


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("Who raised the lighthouse, and in which year?", ["who", "when"]),
        ("When was the cooperative founded, and by how many farmers?", ["when", "number"]),
        ("Who inspected the bridge, and when?", ["who", "when"]),
        ("How much is an adult ticket?", ["number"]),
        ("Which company operates the route?", ["who"]),
        ("In which city was the lens made?", ["place"]),
        ("Where was the lens made?", ["where"]),
        ("Why was the landing stage moved?", ["why"]),
        ("How did the keepers live?", [None]),
        ("How is the island supplied when the ferry cannot sail?", [None]),
        ("What did the council decide about the pier and the harbour?", [None]),
    ],
)
def test_a_question_is_cut_into_the_things_it_asks(question: str, kinds: list[str | None]) -> None:
    assert [p.kind for p in asks(question)] == kinds


def test_when_is_asked_by_the_first_question_phrase_in_the_part() -> None:
    assert kind_of("In what year did who move it") == "when"
    assert kind_of("Who moved it in what year") == "who"


def test_a_name_the_question_already_names_is_not_an_answer() -> None:
    question = "Who raised the Skarv lighthouse?"
    # "Skarv" sits nearest the question's words here; only novelty keeps it from being the answer
    sentence = "The Skarv tower was raised after the storm, in 1893, by the young engineer Sigrun Falk."
    spans = FIND.spans(sentence, "who")
    assert [s.text for s in spans] == ["Skarv", "Sigrun Falk"]
    assert not novel(spans[0], question) and novel(spans[1], question)
    (span,) = answer_spans(question, sentence, FIND)
    assert span is not None and span.text == "Sigrun Falk"


def test_every_part_of_a_compound_question_gets_its_own_kind_of_answer() -> None:
    question = "Who raised the Skarv lighthouse, and in which year?"
    sentence = "The present stone tower was raised in 1893 by the engineer Sigrun Falk."
    who, when = answer_spans(question, sentence, FIND)
    assert who is not None and who.text == "Sigrun Falk"
    assert when is not None and when.text == "1893"
    assert sentence[who.start : who.end] == who.text and sentence[when.start : when.end] == when.text


def test_amounts_keep_their_unit_and_years_are_no_amount() -> None:
    sentence = (
        "In 2019 the harbour handled 1,200 tonnes of fish and $4.5 million in trade, 12% up, with twenty-two boats."
    )
    assert [s.text for s in FIND.spans(sentence, "number")] == [
        "1,200 tonnes", "$4.5 million", "12%", "twenty-two boats",
    ]  # fmt: skip
    assert [s.text for s in FIND.spans(sentence, "when")] == ["2019"]


def test_a_reason_is_the_clause_that_gives_it() -> None:
    question = "Why was the ferry landing stage moved?"
    sentence = "In 1931 Tarjei Lund moved the landing stage to the east cove, because silt kept filling the harbour."
    (span,) = answer_spans(question, sentence, FIND)
    assert span is not None and span.text == "because silt kept filling the harbour"


def test_a_place_is_a_name_after_a_place_word_a_path_or_a_spot() -> None:
    sentence = "Anders Voll taught mathematics in Tromso before he worked at Kleppa."
    assert [s.text for s in FIND.spans(sentence, "where")] == ["Tromso", "Kleppa"]
    assert [s.text for s in FIND.spans(sentence, "who")] == ["Anders Voll"]  # "in Tromso" is no one
    installed = "Each package installs one file in /usr/share/mime/packages, read by the updater."
    assert [s.text for s in FIND.spans(installed, "where")] == ["/usr/share/mime/packages"]
    rehearsal = "The choir rehearses every Tuesday in the school hall of the town."
    assert [s.text for s in FIND.spans(rehearsal, "where")] == ["the school hall"]


def quote(text: str, score: float, question: str) -> Quote:
    return Quote(hit(text), 0, len(text), text, score, tuple(answer_spans(question, text, FIND)))


def test_the_short_answer_says_which_part_the_documents_do_not_hold() -> None:
    question = "Who raised the Skarv lighthouse, and in which year?"
    only_who = quote("The tower was raised by the engineer Sigrun Falk.", 0.9, question)
    short = short_answer(question, [only_who])
    assert short is not None and short.text == "Sigrun Falk"
    assert [p.text for p in short.missing] == ["in which year"]
    data = short.as_dict(lambda h: 1)
    assert data["missing"] == ["in which year"] and data["source"] == 1
    start, end = data["span"]  # within the file, as citations are
    assert only_who.hit.text[start - only_who.hit.start : end - only_who.hit.start] == "Sigrun Falk"
    # a second quoted sentence may hold the part the best one lacks
    year = quote("The work on the tower was finished in 1893.", 0.5, question)
    both = short_answer(question, [only_who, year])
    assert both is not None and both.text == "Sigrun Falk, 1893" and not both.missing
    assert short_answer("What did the engineer do to the tower?", [only_who]) is None


def test_headings_run_into_no_sentence_and_are_never_candidates() -> None:
    text = (
        "# The Skarv Light\nThe Skarv lighthouse stands on the northern\nspit of Hald island.\n\n"
        "HISTORY OF THE TOWER\nThe present stone tower was raised in 1893 by the engineer\nSigrun Falk."
    )
    pieces = [(text[a:b], heading) for a, b, heading in sentences_of(text)]
    assert pieces[0] == ("# The Skarv Light", True)
    assert pieces[1] == ("The Skarv lighthouse stands on the northern\nspit of Hald island.", False)
    assert ("HISTORY OF THE TOWER", True) in pieces
    found, _ = candidates([hit(text)])
    assert [c.text for c in found] == [
        "The Skarv lighthouse stands on the northern spit of Hald island.",
        "The present stone tower was raised in 1893 by the engineer Sigrun Falk.",
    ]


def test_a_lists_items_are_sentences_of_their_own_never_one_long_quote() -> None:
    text = (
        "The depot keeps three kinds of stock:\n• spare rotor blades for the\nnorthern turbines\n"
        "- gearbox oil in sealed drums\n* cable reels, stacked by gauge\nThe list is checked each spring."
    )
    pieces = [text[a:b] for a, b, _ in sentences_of(text)]
    assert pieces == [
        "The depot keeps three kinds of stock:",
        "• spare rotor blades for the\nnorthern turbines",  # a wrapped item stays whole
        "- gearbox oil in sealed drums",
        "* cable reels, stacked by gauge",
        "The list is checked each spring.",
    ]


def test_page_footers_are_context_never_an_answer() -> None:
    assert is_boilerplate("21 of the Shared MIME-info Database specification, last updated 2 October 2018")
    assert is_boilerplate("Page 3 of 12, Kleppa School Annual Report")
    assert not is_boilerplate("The school had 312 pupils in the autumn of 2023, up from 287 a year before.")
    text = "The school had 312 pupils.\nPage 3 of 12, Kleppa School Annual Report, last updated 5 February 2024"
    assert [c.text for c in candidates([hit(text)])[0]] == ["The school had 312 pupils."]


def test_the_fit_learns_which_feature_tells_the_answer_and_the_threshold_declines() -> None:
    rng = np.random.default_rng(3)
    questions = []
    for i in range(60):
        x = rng.normal(size=(6, len(FEATURES)))
        x[:, 0] = 1.0
        gold = np.zeros(6, dtype=bool)
        if i % 3:  # answerable: the sentence with the answer has the novel answer type
            x[:, FEATURES.index("novel")] = 0.0
            x[2, FEATURES.index("novel")] = 1.0
            gold[2] = True
        else:
            x[:, FEATURES.index("novel")] = 0.0
        questions.append(Question(x, gold, bool(i % 3)))
    weights = fit_weights(np.vstack([q.x for q in questions]), np.concatenate([q.gold for q in questions]))
    assert np.argmax(np.abs(weights[1:])) + 1 == FEATURES.index("novel")
    model = SentenceModel(list(weights), threshold=0.5, within=1.01)
    seen = outcomes(questions, model)
    assert seen["right"] == 1.0 and seen["declined"] == 1.0 and seen["wrong"] == 0.0


def test_the_packaged_model_rewards_novel_answers_and_matches_this_ragkit() -> None:
    model = packaged()  # loading checks its features are the ones computed
    assert model.weights[FEATURES.index("novel")] > 0
    assert 0 < model.threshold < 1
    assert model.about.get("fitted on", "").startswith("SQuAD")


def test_with_a_spacy_pipeline_its_recogniser_finds_the_spans() -> None:
    from ragkit.answer.spans import SpacySpans, finder_for
    from tests.conftest import spacy_pipeline

    finder = finder_for(str(spacy_pipeline()))
    assert isinstance(finder, SpacySpans)
    sentence = "The cooperative was chaired by Ingrid Saeter from Bergen until March 2015."
    assert "Ingrid Saeter" in [s.text for s in finder.spans(sentence, "who")]
    assert "Bergen" in [s.text for s in finder.spans(sentence, "place")]
    assert "March 2015" in [s.text for s in finder.spans(sentence, "when")]
    question = "Who chaired the cooperative, and until when?"
    who, when = answer_spans(question, sentence, finder)
    assert who is not None and who.text == "Ingrid Saeter"
    assert when is not None and "2015" in when.text
    assert isinstance(finder_for("no-such-pipeline"), PatternSpans)  # not installed: the patterns answer
