"""Pattern entities on tricky inputs: each found and normalised, and look-alikes left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.entities import PatternFinder, iban_ok, key_of, name_key


def values(text: str, kind: str, region: str | None = None) -> list[str]:
    return [m.value for m in PatternFinder(region).find(text) if m.type == kind]


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+47 22 33 44 55", "+4722334455"),
        ("0047 22334455", "+4722334455"),
        ("+1 (212) 555-0100", "+12125550100"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+49 30 901820", "+4930901820"),
        ("+33 1 42 68 53 00", "+33142685300"),
        ("+81 3-3224-9999", "+81332249999"),
    ],
)
def test_international_phone_numbers_are_written_e164(written: str, e164: str) -> None:
    assert values(f"Call {written} today.", "phone") == [e164]


def test_what_only_looks_like_a_phone_number_is_left_out() -> None:
    text = "On 2024-05-03, ISBN 978-3-16-148410-0, invoice 12345, +1 555 0100 (too short), 22 33 44 55 (national)."
    assert values(text, "phone") == []
    assert values("Ring 22 33 44 55 now", "phone", region="NO") == ["+4722334455"]  # national, with a region


def test_ibans_count_only_when_their_checksum_holds() -> None:
    good = ["DE89 3704 0044 0532 0130 00", "GB82 WEST 1234 5698 7654 32", "FR14 2004 1010 0505 0001 3M02 606"]
    for iban in good:
        assert iban_ok(iban) and values(f"Pay to {iban}.", "iban") == [iban.replace(" ", "")]
    assert values("Pay to GB82 WEST 1234 5698 7654 33.", "iban") == []  # one digit off
    assert values("Pay to DE89 3704 0044 0532 0130 01.", "iban") == []


def test_obfuscated_addresses_are_read_and_plain_words_are_not() -> None:
    text = "jane (at) acme (dot) org, bob [at] mail [dot] co [dot] uk, eve at corp dot com and Kim@Example.COM"
    assert values(text, "email") == ["jane@acme.org", "bob@mail.co.uk", "eve@corp.com", "kim@example.com"]
    assert values("Look at example.com and meet at noon.", "email") == []
    assert values("Contact Jane at jane.doe@acme.org", "email") == ["jane.doe@acme.org"]  # after a near miss


def test_urls_amounts_and_dates_are_normalised() -> None:
    urls = values("See https://acme.org/r?id=1). Or www.Acme.org.", "url")
    assert urls == ["https://acme.org/r?id=1", "www.acme.org"]
    text = "Paid $1,250.00, EUR 2.500,50, 2,500 kroner, €3 million and 1 250 NOK; not 2,500 apples."
    assert values(text, "amount") == ["USD 1250", "EUR 2500.5", "NOK 2500", "EUR 3000000", "NOK 1250"]
    dates = "Signed 3 May 2024, May 3rd, 2024 and 2024-05-03; not 31 February 2024 nor 03/05/2024."
    assert values(dates, "date") == ["2024-05-03"] * 3


def test_spans_point_at_the_text_as_written() -> None:
    text = "Mail jane [at] acme [dot] org now"
    (mention,) = PatternFinder().find(text)
    assert text[mention.start : mention.end] == "jane [at] acme [dot] org"


def test_names_and_typed_values_share_their_keys() -> None:
    assert name_key("  Jane   Doe's ") == "Jane Doe"
    assert key_of("person", "jane  DOE") == key_of("person", "Jane Doe")
    assert key_of("phone", "+47 22 33 44 55") == key_of("phone", "0047 22334455") == "+4722334455"
    assert key_of("iban", "gb82 west 1234 5698 7654 32") == "gb82west12345698765432"


PARAGRAPHS = [
    "Angela Merkel met Barack Obama in Berlin on Monday. Siemens paid for the dinner.",
    "The Normans were in Normandy, a region in France, from the 10th century; Rollo swore fealty to King Charles III.",
    "Microsoft opened an office in Paris, where Satya Nadella spoke to Le Monde about the European Union.",
]


def test_names_run_only_what_the_recogniser_needs_and_find_what_the_whole_pipeline_finds() -> None:
    import spacy

    from ingest.entities import NameFinder
    from tests.conftest import spacy_pipeline

    finder = NameFinder(str(spacy_pipeline()))
    # en_core_web_sm's recogniser embeds on its own: its shared tok2vec feeds only the tagger
    assert finder.nlp.pipe_names == ["ner"]
    whole = spacy.load(spacy_pipeline())
    labels = NameFinder.LABELS
    expected = [[(e.start_char, e.end_char) for e in doc.ents if e.label_ in labels] for doc in whole.pipe(PARAGRAPHS)]
    found = [[(m.start, m.end) for m in names] for names in finder.find_all(PARAGRAPHS)]
    assert found == expected and sum(map(len, found)) >= 8


def test_a_shared_embedding_layer_the_recogniser_listens_to_is_kept(tmp_path: Path) -> None:
    import spacy

    from ingest.entities import NameFinder

    nlp = spacy.blank("en")
    nlp.add_pipe("tok2vec")
    listener = {"@architectures": "spacy.Tok2VecListener.v1", "width": 96, "upstream": "*"}
    nlp.add_pipe("ner", config={"model": {"tok2vec": listener}})
    nlp.add_pipe("sentencizer")
    nlp.initialize()
    nlp.to_disk(tmp_path / "pipeline")
    finder = NameFinder(str(tmp_path / "pipeline"))
    assert finder.nlp.pipe_names == ["tok2vec", "ner"]
    assert len(list(finder.find_all(["Some text by Ada Lovelace."]))) == 1  # runs: the listener has its upstream
