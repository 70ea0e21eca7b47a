"""From a question to an answer: retrieve, prompt, stream, verify, remember.

An answer is shown only where it can be checked against the passages it came from: when
nothing in it verifies, the user is told plainly that the documents do not seem to contain
the answer, and the model's text is kept as a draft. Reasoning is streamed as its own event
and never sent back to the model.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ragkit.answer.attribution import Attribution, Citation, SentenceSupport, attribute, shifted
from ragkit.answer.conversation import Conversation, Turn, hit_key
from ragkit.answer.figures import find as find_figure
from ragkit.answer.prompt import Prompt, build_prompt, with_sources
from ragkit.answer.quotes import SentenceModel, choose, render, short_answer
from ragkit.answer.spans import SpanFinder, finder_for
from ragkit.core.config import Settings
from ragkit.core.errors import RagkitError
from ragkit.core.faults import fail_point
from ragkit.llm import StreamEvent
from ragkit.llm.guard import RepetitionGuard
from ragkit.llm.loader import ChatModels
from ragkit.search.retrieve import Hit, merge_adjacent

NOT_FOUND = "Your documents do not seem to contain the answer to this question."
UNVERIFIED = (
    "Nothing in the model's answer could be found in your documents, so it is not shown as an answer; "
    "the closest sources are listed (the unverified draft is kept under 'draft')."
)


@dataclass
class Answer:
    question: str
    answer: str
    reasoning: str
    model: str
    sources: list[Hit]
    attribution: Attribution
    grounded: bool  # every factual sentence of the shown answer is backed by a verified citation
    notice: str = ""
    usage: dict[str, int] = field(default_factory=dict)
    draft: str = ""  # the model's text when none of it could be verified
    model_note: str = ""  # which model answered and why that one
    conversation: str = ""  # id of the conversation this answer belongs to
    new_sources: list[int] = field(default_factory=list)  # source numbers retrieved for this turn
    retrieval: dict[str, Any] = field(default_factory=dict)  # queries, filter, every hit with its score
    mode: str = "generate"  # how the shown answer was made: "generate" (the model) or "extract" (quoted)
    # quoted answers to who/when/where/how-many questions: the words that answer, with their source
    short_answer: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "reasoning": self.reasoning,
            "draft": self.draft,
            "model_note": self.model_note,
            "conversation": self.conversation,
            "usage": self.usage,
            "retrieval": self.retrieval,
            "citations": [c.as_dict() for c in self.attribution.citations],
            "model": self.model,
            "grounded": self.grounded,
            "notice": self.notice,
            "mode": self.mode,
            "short_answer": self.short_answer,
            "by": self.attribution.by,
            "sources": [dict(h.as_dict(), n=n) for n, h in enumerate(self.sources, start=1)],
            "sentences": [
                {
                    "text": s.text,
                    "start": s.start,
                    "end": s.end,
                    "supported": s.supported,
                    "factual": s.factual,
                    "citations": [self.attribution.citations[i].n for i in s.citations],
                }
                for s in self.attribution.sentences
            ],
            "unsupported": [s.text for s in self.attribution.unsupported],
            "declined": self.declined,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        """An answer back from its :meth:`as_dict` (as a ragkit server sends it)."""
        from ragkit.answer.conversation import hit_from_dict

        citations = [
            Citation(c["n"], c["path"], c.get("page"), c["start"], c["end"], c.get("quote", ""),
                     bool(c.get("verified")), c.get("by", "match"), float(c.get("support", 0.0)))
            for c in data.get("citations", [])
        ]  # fmt: skip
        index = {c.n: i for i, c in enumerate(citations)}
        sentences = []
        for s in data.get("sentences", []):
            cited = tuple(index[n] for n in s.get("citations", []) if n in index)
            supported, factual = bool(s.get("supported")), bool(s.get("factual", True))
            sentences.append(SentenceSupport(s["start"], s["end"], s["text"], cited, supported, factual))
        return cls(
            question=data.get("question", ""),
            answer=data.get("answer", ""),
            reasoning=data.get("reasoning", ""),
            model=data.get("model", ""),
            sources=[hit_from_dict(h) for h in data.get("sources", [])],
            attribution=Attribution(data.get("by", "none"), citations, sentences),
            grounded=bool(data.get("grounded")),
            notice=data.get("notice", ""),
            usage=dict(data.get("usage") or {}),
            draft=data.get("draft", ""),
            model_note=data.get("model_note", ""),
            conversation=data.get("conversation", ""),
            retrieval=dict(data.get("retrieval") or {}),
            mode=data.get("mode", "generate"),
            short_answer=data.get("short_answer"),
        )

    @property
    def declined(self) -> bool:
        """The answer says the documents do not seem to hold one (nothing is shown as an answer)."""
        return self.answer == NOT_FOUND


QUOTED = "Quoted from your documents: the sentences that best answer the question (no model was used)."
QUOTED_INSTEAD = (
    "Quoted from your documents: the model's answer could not be verified against them, so the sentences "
    "that best answer the question are shown instead (the model's text is kept under 'draft')."
)
NOTHING_ANSWERS = "Nothing in the closest passages answers this question; they are listed."
PARTLY = (
    "Only part of this answer could be verified against your documents: the sentences that could not "
    "are marked (✗) and are not backed by any source."
)
NOT_SAID = "Your documents do not seem to say: {}."
BACKED_ONLY = (
    "Only the sentences of the model's answer that your documents back are shown; the rest could not be "
    "verified and is kept under 'draft'."
)
Mode = Literal["auto", "generate", "extract"]


def _rough_tokens(text: str) -> int:
    return len(text) // 3 + 1


class Answerer:
    """Answers questions over one index (``search`` and ``chunk_count`` come from it)."""

    def __init__(
        self,
        settings: Settings,
        chat: ChatModels,
        search: Callable[[str, int], list[Hit]],
        chunk_count: Callable[[], int],
        embed: Callable[[Sequence[str]], Any],
        continued: Callable[[list[Hit]], list[Hit]] = list,  # a table's passage, then the one continuing it
    ) -> None:
        self.settings = settings
        self.continued = continued
        self.chat = chat
        self.search = search
        self.chunk_count = chunk_count
        self.embed = embed
        self.sentences: SentenceModel | None = None  # which sentence answers; None: the packaged model
        self._finder: SpanFinder | None = None

    @property
    def finder(self) -> SpanFinder:
        """What finds names, dates, places and amounts in a sentence: the spaCy pipeline of
        ``entities.model`` when one is set, else patterns."""
        if self._finder is None:
            self._finder = finder_for(self.settings.entities.model)
        return self._finder

    def evidence(
        self, question: str, mode: Mode, conversation: Conversation | None = None
    ) -> tuple[list[Hit], list[Hit]]:
        """The passages retrieved for a question (neighbouring chunks merged), and those of
        them close enough to answer from."""
        cfg = self.settings.retrieve
        # the model is given top_k passages; quoting looks for sentences in evidence_k of them
        k = cfg.top_k if mode == "generate" else max(cfg.top_k, cfg.evidence_k)
        hits = merge_adjacent(self.continued(self.retrieve_for(question, conversation, k)))
        return hits, [h for h in hits if h.score >= cfg.min_score]

    def retrieval_queries(self, question: str, conversation: Conversation | None = None) -> list[str]:
        """The queries a question is searched with: itself, and for a follow-up also joined
        with the question before it, so "and what about its size?" finds the right documents."""
        if conversation and conversation.turns:
            return [question, f"{conversation.turns[-1].question} {question}"]
        return [question]

    def retrieve_for(self, question: str, conversation: Conversation | None = None, k: int | None = None) -> list[Hit]:
        """The ``k`` passages (default ``retrieve.top_k``) for a question (see
        :meth:`retrieval_queries`), best first."""
        k = k or self.settings.retrieve.top_k
        hits = self.search(question, k)
        if conversation and conversation.turns:
            earlier = conversation.turns[-1].question
            best = {hit_key(h): h for h in hits}
            for hit in self.search(f"{earlier} {question}", k):
                if hit_key(hit) not in best or best[hit_key(hit)].score < hit.score:
                    best[hit_key(hit)] = hit
            hits = sorted(best.values(), key=lambda h: h.score, reverse=True)[:k]
        return hits

    def ask_stream(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
    ) -> Generator[StreamEvent | Answer, None, None]:
        """Yield reasoning/text events as the model writes, then the final :class:`Answer`.
        With a ``conversation``, the question is a follow-up and the turn is added to it.
        ``mode`` (default: ``answer.mode``): "generate" answers with the model; "extract"
        quotes the passages' best sentences without a model; "auto" generates, and when
        nothing of the model's text verifies, quotes instead."""
        mode = mode or self.settings.answer.mode
        if self.chunk_count() == 0:
            raise RagkitError("nothing is indexed yet; add documents with: ragkit index PATH (or ask with --docs PATH)")
        cfg = self.settings.retrieve
        hits, relevant = self.evidence(question, mode, conversation)
        retrieval = {
            "queries": self.retrieval_queries(question, conversation),
            "min_score": cfg.min_score,
            "top_k": cfg.top_k,
            "evidence_k": cfg.evidence_k if mode != "generate" else 0,
            "hits": [dict(h.as_dict(), kept=h.score >= self.settings.retrieve.min_score) for h in hits],
        }
        if not relevant:  # no model call, so no model load either
            yield StreamEvent("text", NOT_FOUND)
            notice = "No passage was close enough to the question; the closest ones are listed."
            name = "" if mode == "extract" else self.chat.name(model)
            empty = Answer(question, NOT_FOUND, "", name, hits[: cfg.top_k], Attribution(by="none"), False, notice)
            empty.model_note, empty.retrieval, empty.mode = self._note(model, mode), retrieval, mode
            self._remember(conversation, empty, None)
            yield empty
            return
        if mode == "extract":
            prompt = build_prompt(question, [], _rough_tokens, 1 << 30, conversation)  # the numbering so far
            result = Answer(question, "", "", "", prompt.sources, Attribution(by="none"), False, mode="extract")
        else:
            result, prompt = yield from self._generate(question, model, relevant[: cfg.top_k], conversation)
        result.model_note, result.retrieval = self._note(model, mode), retrieval
        if not result.grounded:
            prompt = yield from self._unverified(question, mode, relevant, result, prompt)
            result.sources = list(prompt.sources)
        result.new_sources = list(prompt.new_sources or [])
        self._remember(conversation, result, prompt)
        yield result

    def _unverified(
        self, question: str, mode: Mode, relevant: list[Hit], result: Answer, prompt: Prompt
    ) -> Generator[StreamEvent, None, Prompt]:
        """Nothing of the model's text verifies (or no model was asked): quote the passages'
        sentences that answer, else keep only what is backed, else say the documents do not
        seem to hold it. Changes ``result``; returns the prompt whose sources it cites."""
        cfg = self.settings.retrieve
        figure = find_figure(question, relevant, result.answer) if mode != "generate" else None  # its table's row
        quotes = [] if mode == "generate" else figure.quotes() if figure else choose(
            question, relevant, self.embed, self.sentences, self.finder
        )  # fmt: skip
        if mode == "extract":  # the quoted passages are the sources, or else the closest ones
            prompt = with_sources(prompt, [q.hit for q in quotes] or relevant[: cfg.top_k])
        draft = result.answer
        if quotes:  # answer from the evidence, verbatim and cited
            prompt = with_sources(prompt, [q.hit for q in quotes])
            numbers = {hit_key(h): n for n, h in enumerate(prompt.sources, start=1)}
            short = None if figure else short_answer(question, quotes)
            body = (figure.render if figure else lambda n: render(quotes, n))(lambda hit: numbers[hit_key(hit)])
            lead = figure.lead() if figure else short.text if short else ""
            quoted = f"{lead} — {body}" if lead else body
            result.answer, result.draft, result.mode = quoted, draft, "extract"
            # the short answer is words of the quoted sentences: the sentences are what is checked
            result.attribution = shifted(attribute(body, prompt.sources, embed=self.embed), len(quoted) - len(body))
            result.grounded = result.attribution.grounded
            result.notice = QUOTED if mode == "extract" else QUOTED_INSTEAD
            if figure is not None:
                result.short_answer = figure.as_dict(lambda hit: numbers[hit_key(hit)])
                result.notice += " " + figure.notice
            if short is not None:
                result.short_answer = short.as_dict(lambda hit: numbers[hit_key(hit)])
                if short.missing:
                    result.notice += " " + NOT_SAID.format("; ".join(f"“{p.text}”" for p in short.missing))
            if mode == "extract":
                yield StreamEvent("text", quoted)
        elif result.attribution.any_verified and mode == "auto":  # only what is backed is shown
            backed = " ".join(s.text for s in result.attribution.sentences if s.supported or not s.factual)
            result.answer, result.draft = backed, draft
            result.attribution = attribute(backed, prompt.sources, embed=self.embed)
            result.grounded = result.attribution.grounded
            result.notice = BACKED_ONLY
        elif result.attribution.any_verified:  # partly backed: shown, the rest marked
            result.notice = PARTLY
        else:  # say plainly that the documents do not seem to hold it; keep any draft
            result.answer, result.draft = NOT_FOUND, draft
            result.notice = (
                UNVERIFIED if draft else NOTHING_ANSWERS if mode == "extract" else
                "The model gave no answer; the closest sources are listed."
            )  # fmt: skip
            if mode == "extract":
                yield StreamEvent("text", NOT_FOUND)
        return prompt

    def _note(self, model: str | None, mode: str) -> str:
        if mode == "extract":
            return "no model: the answer is quoted from your documents (--mode extract)"
        return self.chat.note(model)

    def _generate(
        self, question: str, model: str | None, relevant: list[Hit], conversation: Conversation | None
    ) -> Generator[StreamEvent, None, tuple[Answer, Prompt]]:
        """The model's answer, streamed; returned with its attribution and the prompt."""
        llm = self.chat.load(model)
        cfg = self.settings.llm
        params = self.chat.params(llm)
        reserve = cfg.max_tokens + (params.reasoning_budget or 0) + 16
        prompt = build_prompt(question, relevant, llm.count_tokens, llm.n_ctx - reserve, conversation)
        guard = RepetitionGuard()
        answer, reasoning, usage = [], [], {"prompt_tokens": prompt.tokens}
        chunks = 0  # streamed pieces: one token each from llama.cpp, in-process or served
        stream = llm.stream(prompt.messages, params)
        try:
            for event in stream:
                chunks += event.type in ("reasoning", "text")
                fail_point("mid-answer")
                if event.type == "reasoning":
                    reasoning.append(event.chunk)
                    yield event
                elif event.type == "text":
                    shown = guard.feed(event.chunk)
                    if shown:
                        answer.append(shown)
                        yield StreamEvent("text", shown)
                    if guard.stopped:
                        break
                else:
                    usage.update(event.usage)
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        usage.update(llm.prompt_usage())  # also when the guard stopped the stream before its end
        usage.setdefault("completion_tokens", chunks)  # (a stream cut by the guard sends no usage report)
        tail = guard.flush()
        if tail:
            answer.append(tail)
            yield StreamEvent("text", tail)
        text = "".join(answer).strip()
        attribution = attribute(text, prompt.sources, embed=self.embed)
        result = Answer(
            question, text, "".join(reasoning).strip(), llm.name, prompt.sources, attribution,
            attribution.grounded, "", usage, mode="generate",
        )  # fmt: skip
        return result, prompt

    def _remember(self, conversation: Conversation | None, answer: Answer, prompt: Prompt | None) -> None:
        if conversation is None:
            return
        if prompt is not None:
            if prompt.condensed is not None:
                conversation.condensed = prompt.condensed
                conversation.context_start = len(conversation.turns)
            conversation.sources = list(prompt.sources)
        conversation.turns.append(
            Turn(
                question=answer.question,
                answer=answer.answer,
                reasoning=answer.reasoning,
                model=answer.model,
                new_sources=list(prompt.new_sources or []) if prompt else [],
                reused_sources=list(prompt.reused_sources or []) if prompt else [],
                grounded=answer.grounded,
                result=answer.as_dict(),
            )
        )
        if not conversation.title:
            conversation.title = answer.question.strip()[:80]
        answer.conversation = conversation.id

    def ask(
        self,
        question: str,
        model: str | None = None,
        conversation: Conversation | None = None,
        mode: Mode | None = None,
    ) -> Answer:
        result = None
        for item in self.ask_stream(question, model, conversation, mode):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return result
