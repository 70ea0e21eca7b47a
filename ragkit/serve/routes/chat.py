"""``POST /v1/chat/completions``: OpenAI's chat API over ragkit's answers, streamed (server-sent
events) or not. The reasoning streams in ``reasoning_content`` (as llama.cpp's server sends
it); the model's words stream as ``ragkit_draft`` while it writes; ``content`` is the answer
once checked, so a client never shows words that did not verify as the answer
(``ragkit_mode: "generate"`` streams the model's words as ``content``, as written). The last
chunk, or the message, carries ``ragkit``: the answer as ``ragkit ask --json`` gives it."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from ragkit.answer.answerer import Answer
from ragkit.answer.conversation import Conversation, Turn
from ragkit.core.errors import RagkitError
from ragkit.db.ask import SqlAnswer
from ragkit.serve.audit import note
from ragkit.serve.context import Caller, Index
from ragkit.serve.gate import INTERNAL, log
from ragkit.serve.models import ERRORS, ChatMessage, ChatRequest

router = APIRouter(responses=ERRORS)


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):  # OpenAI's content parts: the text ones
        return " ".join(str(p.get("text", "")) for p in content if p.get("type") == "text")
    return content or ""


def _conversation(messages: list[ChatMessage], asked: ChatMessage) -> Conversation | None:
    """The turns before the question, as a conversation the answer follows up."""
    history, pending = [], ""
    for m in messages[: messages.index(asked)]:
        if m.role == "user":
            pending = _text(m.content)
        elif m.role == "assistant" and pending:
            history.append(Turn(pending, _text(m.content), []))
            pending = ""
    return Conversation(turns=history) if history else None


def _cited(answer: dict[str, Any]) -> list[str]:
    return sorted({c.get("path") or c["source"] for c in answer.get("citations", [])})


@router.post("/v1/chat/completions")
def chat(body: ChatRequest, who: Caller, index: Index) -> Any:
    limit = index.scope(who, body.collection)
    asked = [m for m in body.messages if m.role == "user"]
    if not asked or not _text(asked[-1].content).strip():
        raise HTTPException(400, "the last message must be the user's question")
    question = _text(asked[-1].content).strip()
    conversation = _conversation(body.messages, asked[-1])
    model = index.model_named(body.model)
    note(question=question)
    made, ident = int(time.time()), f"chatcmpl-{uuid.uuid4().hex[:24]}"
    routable = [] if body.ragkit_route == "docs" else index.usable(who, body.collection)

    def events() -> Iterator[Any]:
        with index.generating:
            stream = index.rk.ask_stream(question, model=model, conversation=conversation, mode=body.ragkit_mode,
                                         scope=limit, databases=routable)  # fmt: skip
            try:
                yield from stream
            finally:
                stream.close()

    if not body.stream:
        answer = index.shown(list(events())[-1].as_dict(), limit)
        note(cited=_cited(answer))
        return _completion(answer, ident, made)

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        sent = {"id": ident, "object": "chat.completion.chunk", "created": made, "model": "ragkit",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}  # fmt: skip
        return f"data: {json.dumps(sent, ensure_ascii=False)}\n\n"

    def sse() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        try:
            for item in events():
                if isinstance(item, Answer | SqlAnswer):  # the checked answer, and all about it in `ragkit`
                    answer = index.shown(item.as_dict(), limit)
                    note(cited=_cited(answer))
                    if body.ragkit_mode != "generate":
                        yield chunk({"content": answer["answer"]})
                    yield chunk({}, "stop", ragkit=answer)
                elif item.type == "route":  # which source answers, and why
                    yield chunk({"ragkit_route": item.chunk})
                elif item.type == "reasoning":
                    yield chunk({"reasoning_content": item.chunk})
                elif item.type == "text" and body.ragkit_mode == "generate":
                    yield chunk({"content": item.chunk})
                elif item.type == "text":  # a draft until checked: the answer comes as content
                    yield chunk({"ragkit_draft": item.chunk})
        except RagkitError as exc:
            note(status=400, error=str(exc))
            yield f"data: {json.dumps({'error': {'message': str(exc), 'type': 'ragkit_error'}})}\n\n"
        except Exception as exc:  # a bug: the stream still ends as a client expects, and says so
            log.exception("a streamed answer failed")
            note(status=500, error=f"internal error ({type(exc).__name__})")
            yield f"data: {json.dumps({'error': {'message': INTERNAL, 'type': 'internal_error'}})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(sse(), media_type="text/event-stream")


def _completion(answer: dict[str, Any], ident: str, made: int) -> dict[str, Any]:
    usage = answer.get("usage") or {}
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    message = {"role": "assistant", "content": answer["answer"], "reasoning_content": answer.get("reasoning") or None}
    return {
        "id": ident,
        "object": "chat.completion",
        "created": made,
        "model": answer.get("model") or "ragkit",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        "ragkit": answer,
    }
