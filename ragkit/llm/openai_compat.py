"""Any OpenAI-compatible chat server by URL: llama.cpp's server, vLLM, Ollama, LM Studio.

Streams ``/v1/chat/completions`` (server-sent events). Reasoning that a server splits off
into ``reasoning_content`` (vLLM, Ollama) is turned back into a think block, so the one
parser in :mod:`ragkit.llm.events` handles every backend. Only the URL the user configured
is ever contacted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from ragkit.core.errors import ModelError
from ragkit.llm.backend import LLM, GenerationParams, Message
from ragkit.llm.events import CLOSE_TAG, OPEN_TAG


class OpenAICompatLLM(LLM):
    def __init__(
        self, url: str, model: str | None = None, n_ctx: int = 4096, api_key: str | None = None, timeout_s: float = 600
    ) -> None:
        self.base = url.rstrip("/")
        if self.base.endswith("/v1"):
            self.base = self.base[: -len("/v1")]
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base, headers=headers, timeout=httpx.Timeout(timeout_s, connect=5))
        self.model = model or self._first_model()
        self.name = f"{self.model} @ {self.base}"
        self.n_ctx = n_ctx
        self._tokenize_path: str | None = "probe"

    def _first_model(self) -> str:
        try:
            response = self.client.get("/v1/models")
            response.raise_for_status()
            models = response.json().get("data") or []
        except (httpx.HTTPError, ValueError) as exc:
            raise ModelError(f"cannot reach the model server at {self.base} ({exc}); is it running?") from exc
        if not models:
            raise ModelError(f"the server at {self.base} lists no models; name one with llm.model")
        return str(models[0]["id"])

    def count_tokens(self, text: str) -> int:
        """The server's own tokenizer where it offers one (llama.cpp, vLLM); otherwise a
        deliberately high estimate, so prompts never overflow the context."""
        if self._tokenize_path == "probe":
            self._tokenize_path = None
            for path in ("/extras/tokenize", "/tokenize"):
                if self._remote_count(path, "probe") is not None:
                    self._tokenize_path = path
                    break
        if self._tokenize_path:
            counted = self._remote_count(self._tokenize_path, text)
            if counted is not None:
                return counted
        return len(text.encode("utf-8")) // 3 + 1

    def _remote_count(self, path: str, text: str) -> int | None:
        body = {"input": text} if path == "/extras/tokenize" else {"model": self.model, "prompt": text}
        try:
            response = self.client.post(path, json=body)
            if response.status_code != 200:
                return None
            data = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        tokens = data.get("tokens")
        return len(tokens) if isinstance(tokens, list) else data.get("count")

    def _pieces(
        self, messages: Sequence[Message], params: GenerationParams, prefix: str, max_tokens: int
    ) -> Iterator[str]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(messages),
            "stream": True,
            "max_tokens": max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
            "stop": list(params.stop)[:4],  # OpenAI's limit
        }
        if prefix:
            # continue the assistant turn that already holds the closed reasoning (vLLM's and
            # llama.cpp's continue_final_message; other servers answer in a new turn after it)
            body["messages"] = [*messages, {"role": "assistant", "content": prefix}]
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        in_reasoning = False
        try:
            with self.client.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code != 200:
                    response.read()
                    raise ModelError(
                        f"the model server at {self.base} answered {response.status_code}: {response.text[:300]}"
                    )
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    try:
                        choices = json.loads(data).get("choices") or []
                    except ValueError:
                        continue
                    if not choices:
                        continue
                    delta = choices[0].get("delta") or {}
                    thought = delta.get("reasoning_content") or delta.get("reasoning") or ""
                    text = delta.get("content") or ""
                    if thought:
                        yield (thought if in_reasoning else OPEN_TAG + thought)
                        in_reasoning = True
                    if text:
                        yield (CLOSE_TAG + text if in_reasoning else text)
                        in_reasoning = False
        except httpx.HTTPError as exc:
            raise ModelError(f"lost the model server at {self.base} ({exc})") from exc

    def close(self) -> None:
        self.client.close()
