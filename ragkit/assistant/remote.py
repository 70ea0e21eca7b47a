"""A ragkit server used through the facade's interface: ``ragkit --server URL``.

:class:`RemoteAssistant` answers the calls the CLI's ``ask``, ``search``, ``find`` and
``status`` and the terminal UI make (the :class:`~ragkit.assistant.protocol.Assistant` protocol) by asking
a ``ragkit serve`` over HTTP, so the same screens work on a colleague's machine. The server
holds the index and the model; this side keeps only its own conversations. Indexing and
watching stay with the server (it is the single writer of its index): asking this side to
do them is an error that says so.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import httpx

from ragkit.answer.answerer import Answer, Mode
from ragkit.answer.conversation import Conversation, ConversationStore, Turn, hit_from_dict
from ragkit.assistant.each import EachRow
from ragkit.assistant.remote_archive import RemoteArchive
from ragkit.core import paths
from ragkit.core.config import Settings
from ragkit.core.errors import RagkitError
from ragkit.db.ask import SqlAnswer, SqlMode
from ragkit.investigate.searches import NewMatch, SavedSearch
from ragkit.llm import StreamEvent
from ragkit.llm.catalog import ModelRef
from ragkit.search.found import FindResult

if TYPE_CHECKING:  # types only: this side never indexes, so it never loads the indexer
    from ragkit.index.library import SearchMode
    from ragkit.index.report import IndexReport, Progress
    from ragkit.index.watch import LiveSync
    from ragkit.search.retrieve import Hit

SERVER_ENV, KEY_ENV = "RAGKIT_SERVER", "RAGKIT_API_KEY"
ANSWER_TIMEOUT_S = 600.0  # longest wait for the next piece of an answer (a big model on a busy server)


def server_of(settings: Settings, given: str | None = None) -> str | None:
    """The server to use: ``--server``, else ``RAGKIT_SERVER``, else ``client.server``."""
    return given or os.environ.get(SERVER_ENV) or settings.client.server or None


class RemoteAssistant(RemoteArchive):
    """The facade's interface over a ragkit server at ``url``. ``collection``: search only
    that collection of the server (else everything the key may read)."""

    find_page = 1000  # hits asked for at once (the most the server sends)

    def __init__(self, settings: Settings, url: str, key: str | None = None, collection: str | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise RagkitError(f"--server {url!r} is not an http:// or https:// URL (e.g. http://127.0.0.1:8765)")
        self.url = url.rstrip("/")
        self.collection = collection
        key = key or os.environ.get(KEY_ENV) or settings.client.api_key
        # The server watches and indexes its own folders: nothing here watches or indexes.
        self.settings = settings.model_copy(update={"watch": settings.watch.model_copy(update={"folders": []})})
        self.conversations = ConversationStore(paths.conversations_dir(settings.home))
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=httpx.Timeout(30.0, read=ANSWER_TIMEOUT_S), trust_env=False
        )
        self._lock = threading.Lock()  # httpx.Client is thread-safe; this guards close()

    # --- HTTP -------------------------------------------------------------------------

    def _request(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = self._http.request(method, path, **options)
        except httpx.HTTPError as exc:
            self._unreachable(exc)
        self._check(response)
        return response.json()

    def _unreachable(self, exc: httpx.HTTPError) -> NoReturn:
        raise RagkitError(
            f"cannot reach the ragkit server at {self.url} ({type(exc).__name__}: {exc or 'no reply'});"
            " is `ragkit serve` running there, and is the URL right (--server, RAGKIT_SERVER)?"
        ) from exc

    def _check(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            message = str(response.json()["error"]["message"])
        except (ValueError, KeyError, TypeError):
            message = response.text.strip()[:300] or response.reason_phrase
        if response.status_code == 401:
            raise RagkitError(
                f"the server at {self.url} refused the key: {message}; set {KEY_ENV} (or client.api_key in the"
                " config) to a key made on the server with: ragkit keys create NAME"
            )
        if response.status_code == 403:
            raise RagkitError(f"the server at {self.url} refused: {message}")
        raise RagkitError(f"the server at {self.url} answered {response.status_code}: {message}")

    def _scoped(self, body: dict[str, Any]) -> dict[str, Any]:
        return body | ({"collection": self.collection} if self.collection else {})

    # --- searching --------------------------------------------------------------------

    def search(
        self, query: str, k: int | None = None, mode: SearchMode | None = None, *, continued: bool = False
    ) -> list[Hit]:
        body = self._scoped({"query": query, "k": k or self.settings.retrieve.top_k, "mode": mode})
        body |= {"continued": True} if continued else {}
        return [hit_from_dict(h) for h in self._request("POST", "/v1/search", json=body)["hits"]]

    def find(self, query: str, offset: int = 0, limit: int | None = 20) -> FindResult:
        """Every match, as the server finds it; ``limit=None`` (all) fetches page after page."""
        page = self.find_page
        want = limit if limit is not None else None
        body = self._scoped({"query": query, "offset": offset, "limit": page if want is None else min(want, page)})
        result = FindResult.from_dict(self._request("POST", "/v1/find", json=body))
        while (want is None or len(result.hits) < want) and offset + len(result.hits) < result.total:
            more = min(page, want - len(result.hits)) if want is not None else page
            body = body | {"offset": offset + len(result.hits), "limit": more}
            following = FindResult.from_dict(self._request("POST", "/v1/find", json=body))
            if not following.hits:
                break
            result.hits.extend(following.hits)
        return result

    def ask_each(self, question: str, query: str, mode: Mode | None = None) -> tuple[int, Iterator[EachRow]]:
        """Every file of the server's (the key's) that ``query`` matches, asked on the server;
        the rows come as the server answers them (closing the iterator hangs up)."""
        if mode == "generate":
            raise RagkitError("--each answers with quotes (extract) or the model's checked answer (auto), not generate")
        body = self._scoped({"question": question, "query": query, "mode": mode, "stream": True})
        try:
            response = self._http.send(
                self._http.build_request("POST", "/v1/each", json=body, timeout=None), stream=True
            )
        except httpx.HTTPError as exc:
            self._unreachable(exc)
        if response.status_code != 200:
            response.read()
            response.close()
            self._check(response)
        lines = response.iter_lines()
        try:
            files = int(json.loads(next(lines))["files"])
        except (StopIteration, ValueError, KeyError, httpx.HTTPError) as exc:
            response.close()
            said = f"the server at {self.url} ended ask --each before saying how many files match ({exc})"
            raise RagkitError(said) from exc

        def rows() -> Iterator[EachRow]:
            try:
                for line in lines:
                    said = json.loads(line)
                    if "error" in said:
                        raise RagkitError(f"the server stopped ask --each: {said['error']}")
                    if "row" in said:
                        yield EachRow.from_dict(said["row"])
            except httpx.HTTPError as exc:
                raise RagkitError(f"the server at {self.url} hung up during ask --each ({exc})") from exc
            finally:
                response.close()

        return files, rows()

    def passage(self, path: str, page: int | None, start: int, end: int, context: int = 400) -> dict[str, Any]:
        params: dict[str, Any] = {"path": path, "start": start, "end": end}
        if page is not None:
            params["page"] = page
        shown: dict[str, Any] = self._request("GET", "/v1/passage", params=params)
        return shown

    def open_file(self, path: str, page: int | None = None, member: str = "") -> list[str]:
        raise RagkitError(
            f"{path} is on the server ({self.url}), not on this machine: its cited passage can be shown here"
            " (enter), the file cannot be opened"
        )

    # --- saved searches (the server's) ---------------------------------------------------

    def save_search(self, name: str, query: str) -> SavedSearch:
        body = {"name": name, "query": query}
        return SavedSearch.from_dict(self._request("POST", "/v1/searches", json=body)["search"])

    def saved_searches(self) -> list[SavedSearch]:
        return [SavedSearch.from_dict(s) for s in self._request("GET", "/v1/searches")["searches"]]

    def remove_search(self, name: str) -> None:
        self._request("DELETE", f"/v1/searches/{quote(name, safe='')}")

    def run_search(self, name: str, limit: int | None = 20) -> tuple[SavedSearch, FindResult, list[NewMatch]]:
        body = {"limit": self.find_page if limit is None else limit}
        ran = self._request("POST", f"/v1/searches/{quote(name, safe='')}/run", json=body)
        news = [NewMatch.from_dict(m) for m in ran["new"]]
        return SavedSearch.from_dict(ran["search"]), FindResult.from_dict(ran["result"]), news

    # --- answering --------------------------------------------------------------------

    def ask_stream(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
        databases: Sequence[str] | None = None,
    ) -> Generator[StreamEvent | Answer | SqlAnswer, None, None]:
        """As the local facade's: reasoning and draft text as the server streams them, then
        the checked :class:`Answer` (or a database's :class:`SqlAnswer`, when the server routed
        the question to one). A conversation's earlier questions and shown answers go with the
        question (never the reasoning); the turn is added to it here. ``databases=[]`` keeps
        the question with the documents; else the server routes among those the key may use."""
        messages: list[dict[str, str]] = []
        for turn in conversation.turns if conversation else []:
            messages += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer}]
        messages.append({"role": "user", "content": question})
        body = self._scoped({"messages": messages, "stream": True, "ragkit_mode": mode})
        if databases is not None and not databases:
            body["ragkit_route"] = "docs"
        if model:
            body["model"] = model
        result: dict[str, Any] | None = None
        try:
            with self._http.stream("POST", "/v1/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                for data in _events(response.iter_lines()):
                    if "error" in data:
                        raise RagkitError(f"the server at {self.url} could not answer: {data['error']['message']}")
                    if "ragkit" in data:
                        result = data["ragkit"]
                    delta = data["choices"][0]["delta"] if data.get("choices") else {}
                    if delta.get("ragkit_route"):
                        yield StreamEvent("route", delta["ragkit_route"])
                    if delta.get("reasoning_content"):
                        yield StreamEvent("reasoning", delta["reasoning_content"])
                    draft = delta.get("ragkit_draft") or (delta.get("content") if mode == "generate" else None)
                    if draft:
                        yield StreamEvent("text", draft)
        except httpx.HTTPError as exc:
            self._unreachable(exc)
        if result is None:
            raise RagkitError(f"the server at {self.url} ended the answer before sending it; try again")
        if result.get("mode") == "sql":
            yield SqlAnswer.from_dict(result)
            return
        answer = Answer.from_dict(result)
        if conversation is not None:
            conversation.turns.append(
                Turn(question=answer.question or question, answer=answer.answer, new_sources=[],
                     reasoning=answer.reasoning, model=answer.model, grounded=answer.grounded, result=result)
            )  # fmt: skip
            conversation.title = conversation.title or question.strip()[:80]
            answer.conversation = result["conversation"] = conversation.id
        yield answer

    def ask(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
    ) -> Answer:
        *_, answer = self.ask_stream(question, model, conversation, mode)
        assert isinstance(answer, Answer)
        return answer

    def ask_database(
        self, question: str, name: str, model: str | None = None, sql_mode: SqlMode | None = None
    ) -> SqlAnswer:
        """The server's database ``name`` answers (its guard, its read-only connection)."""
        body: dict[str, Any] = {"question": question}
        if model:
            body["model"] = model
        if sql_mode:
            body["sql_mode"] = sql_mode
        return SqlAnswer.from_dict(self._request("POST", f"/v1/databases/{quote(name, safe='')}/ask", json=body))

    # --- models and state ---------------------------------------------------------------

    def models(self) -> list[dict[str, Any]]:
        rows = self._request("GET", "/v1/models")["data"]
        return [
            {"name": m["id"], "installed": True, "default": bool(m.get("ragkit", {}).get("default")),
             "profile": m.get("ragkit", {}).get("profile", "chat"), "path": None, "source": self.url}
            for m in rows if m.get("ragkit", {}).get("profile") != "embedding"  # the server's embedder
        ]  # fmt: skip

    def model_ref(self, model: str | None = None) -> ModelRef:
        rows = self.models()
        name = model or next((m["name"] for m in rows if m["default"]), None)
        if name is None:
            raise RagkitError(f"the server at {self.url} has no chat model installed")
        if name not in {m["name"] for m in rows}:
            known = ", ".join(m["name"] for m in rows) or "none"
            raise RagkitError(f"the server at {self.url} has no model {name!r} (it has: {known})")
        return ModelRef(name, Path(self.url), source="server")

    def model_note(self, model: str | None = None) -> str:
        return f"{model} on {self.url}" if model else f"{self.status().get('model', 'the model')} on {self.url}"

    def load_model(self, model: str | None = None) -> None:
        """The server loads its model itself: check that it has this one."""
        self.model_ref(model)

    def status(self) -> dict[str, Any]:
        state: dict[str, Any] = self._request("GET", "/v1/status")
        return state | {"server": self.url}

    def index(
        self,
        roots: Sequence[Path],
        rebuild: bool = False,
        progress: Callable[[Progress], None] | None = None,
        strict: bool = True,
        stop: threading.Event | None = None,
        within: Sequence[Path] = (),
    ) -> IndexReport:
        self._server_side("indexing")

    def live_sync(
        self,
        roots: Sequence[Path],
        on_sync: Callable[[IndexReport], None] | None = None,
        progress: Callable[[Progress], None] | None = None,
        **options: Any,
    ) -> LiveSync:
        self._server_side("watching folders")

    def sync_rows(
        self,
        names: Sequence[str] | None = None,
        progress: Callable[[Progress], None] | None = None,
        stop: threading.Event | None = None,
    ) -> dict[str, Any]:
        self._server_side("indexing a database's rows")

    def _server_side(self, what: str) -> NoReturn:
        raise RagkitError(
            f"{what} is done on the server's machine: {self.url} keeps its own index and folders there (on that"
            " machine: ragkit collections add NAME PATH, ragkit folders add PATH, ragkit entities merge …)"
        )

    def keep_warm(self) -> None:
        """Nothing to hold here: the server holds its own index warm."""

    def close(self) -> None:
        with self._lock:
            self._http.close()


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to ``[DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        payload = line[5:].strip()
        if payload == "[DONE]":
            return
        try:
            yield json.loads(payload)
        except ValueError:
            raise RagkitError(f"the server sent something that is not an event: {payload[:200]!r}") from None
