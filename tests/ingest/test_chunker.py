from __future__ import annotations

import itertools

import pytest

from ingest import Section, chunk_sections, load
from ragkit.index.embed import PACKAGED_EMBEDDER, EmbedderTokenizer, resolve_embedder_path
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def tokenizer() -> EmbedderTokenizer:
    return EmbedderTokenizer(resolve_embedder_path(PACKAGED_EMBEDDER))


def test_window_is_the_models_own(tokenizer: EmbedderTokenizer) -> None:
    assert tokenizer.max_seq_length == 256
    assert tokenizer.max_content_tokens == 254  # [CLS] and [SEP]


@pytest.mark.parametrize(
    "name", ["shared-mime-info-spec.pdf", "users-and-groups.txt", "zlib_how.html", "repeatable-installs.md"]
)
def test_every_chunk_fits_the_embedder_and_maps_back_to_its_text(tokenizer: EmbedderTokenizer, name: str) -> None:
    sections = load(SAMPLES / name)
    chunks = list(chunk_sections(sections, tokenizer.token_spans, tokenizer.max_content_tokens, overlap=24))
    assert chunks
    by_page = {(s.page, s.offset): s for s in sections}
    for chunk in chunks:
        # measured with the embedder's tokenizer, special tokens included
        assert tokenizer.count(chunk.text) <= tokenizer.max_seq_length
        source = next(
            s for (page, off), s in by_page.items() if page == chunk.page and off <= chunk.start < off + len(s.text)
        )
        assert source.text[chunk.start - source.offset : chunk.end - source.offset] == chunk.text
    assert [c.ord for c in chunks] == list(range(len(chunks)))


def test_chunks_do_not_cut_words_and_cover_the_text(tokenizer: EmbedderTokenizer) -> None:
    words = " ".join(f"word{i} extraordinarily{i}" for i in range(400))
    chunks = list(chunk_sections([Section(words)], tokenizer.token_spans, 64, overlap=8))
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.start == 0 or words[chunk.start - 1] == " "
        assert chunk.end == len(words) or words[chunk.end] == " "
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert covered >= {i for i, ch in enumerate(words) if ch != " "}
    # neighbours overlap
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_prefers_sentence_boundaries(tokenizer: EmbedderTokenizer) -> None:
    text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(60))
    chunks = list(chunk_sections([Section(text)], tokenizer.token_spans, 50, overlap=0))
    assert all(c.text.endswith(".") for c in chunks)


def test_rejects_silly_parameters(tokenizer: EmbedderTokenizer) -> None:
    with pytest.raises(ValueError):
        list(chunk_sections([Section("x")], tokenizer.token_spans, 4))
    with pytest.raises(ValueError):
        list(chunk_sections([Section("x")], tokenizer.token_spans, 64, overlap=40))
