"""The OpenAI-compatible backend against a real ``llama_cpp.server`` started on loopback."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import httpx
import pytest

from ragkit.assistant.local import Answer, open_ragkit
from ragkit.core.errors import ModelError
from ragkit.index.embed import SentenceTransformerEmbedder
from ragkit.llm.catalog import packaged_chat_model
from ragkit.llm.llamacpp import LlamaCppLLM
from ragkit.llm.openai_compat import OpenAICompatLLM
from tests.conftest import README_QUESTION as QUESTION
from tests.conftest import SAMPLES
from tests.helpers.servers import free_port, running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    packaged = packaged_chat_model()
    assert packaged is not None
    url = f"http://127.0.0.1:{free_port()}"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(packaged.path), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1], "--n_ctx", "4096", "--verbose", "false",
    ]  # fmt: skip
    log_path = tmp_path_factory.mktemp("server") / "server.log"
    with running(command, lambda: httpx.get(f"{url}/v1/models", timeout=1).status_code == 200, log_path):
        yield url


def test_counts_tokens_with_the_servers_own_tokenizer(server: str) -> None:
    remote = OpenAICompatLLM(server)
    assert remote.model == "smollm2"
    packaged = packaged_chat_model()
    assert packaged is not None
    local = LlamaCppLLM(packaged.path, n_ctx=512)
    text = "Each application installs a single XML file into <MIME>/packages."
    assert remote.count_tokens(text) == local.count_tokens(text)
    remote.close()


def test_answers_stream_through_the_server_with_citations(server: str, embedder: SentenceTransformerEmbedder) -> None:
    rk = open_ragkit(embedder=embedder, llm={"backend": "openai", "url": server})
    rk.index([SAMPLES])
    texts, answer = [], None
    for item in rk.ask_stream(QUESTION):
        if isinstance(item, Answer):
            answer = item
        elif item.type == "text":
            texts.append(item.chunk)
    assert answer is not None and texts
    # streamed, not one block at the end: the backend yields the server's chunks as they come
    # (ask_stream shows them a sentence at a time, through the repetition guard)
    llm = rk.chat.load(None)
    chunks = [e for e in llm.stream([{"role": "user", "content": QUESTION}], rk.chat.params(llm)) if e.type == "text"]
    assert len(chunks) > 3
    assert answer.model == f"smollm2 @ {server}" and answer.model_note == f"served by {server}"
    assert answer.usage["completion_tokens"] > 3 and answer.sources
    written = answer.draft or answer.answer  # the model's text (kept as the draft when it was replaced)
    assert written and written.split()[0] in "".join(texts)
    rk.close()


def test_the_r1_profile_and_budget_work_through_the_server(server: str, embedder: SentenceTransformerEmbedder) -> None:
    settings = {"backend": "openai", "url": server, "profile": "r1", "reasoning_tokens": 16}
    rk = open_ragkit(embedder=embedder, llm=settings)
    rk.index([SAMPLES])
    kinds = []
    answer = None
    for item in rk.ask_stream(QUESTION):
        if isinstance(item, Answer):
            answer = item
        else:
            kinds.append(item.type)
    assert answer is not None
    assert kinds[0] == "reasoning" and answer.usage["reasoning_budget_hit"] == 1
    assert answer.answer and (answer.answer if answer.grounded else answer.draft)
    rk.close()


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match="cannot reach the model server"):
        OpenAICompatLLM(f"http://127.0.0.1:{free_port()}")
