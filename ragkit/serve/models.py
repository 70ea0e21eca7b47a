"""The bodies the app's routes take and the errors they answer with, as the OpenAPI document
describes them (schemathesis checks the server against it)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=4000)
    k: int = Field(5, ge=1, le=100)
    mode: Literal["dense", "keyword", "hybrid"] | None = None
    collection: str | None = None
    continued: bool = False  # each passage whose table runs on followed by the passage continuing it


class FindRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=4000)
    offset: int = Field(0, ge=0)
    limit: int = Field(20, ge=0, le=1000)
    collection: str | None = None


class EachRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(min_length=1, max_length=4000)
    query: str = Field(min_length=1, max_length=4000)
    mode: Literal["extract", "auto"] | None = None
    collection: str | None = None
    stream: bool = False  # JSON lines as each file is answered: {"files": N}, {"row": …}…, {"done": true}


Text = Annotated[str, Field(max_length=100_000)]


class EmbeddingsRequest(BaseModel):
    """OpenAI's embeddings request, as its clients send it (texts only: token ids are not taken)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    input: Text | Annotated[list[Text], Field(min_length=1, max_length=2048)]
    model: str | None = Field(None, max_length=1000)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = Field(None, max_length=1000)


class SaveSearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=200)
    query: str = Field(min_length=1, max_length=4000)


class MarkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    kind: Literal["tag", "note"]
    path: str = Field(min_length=1, max_length=4096)
    value: str = Field(min_length=1, max_length=10_000)  # a tag's name, a note's text
    page: int | None = Field(None, ge=0)
    start: int | None = Field(None, ge=0)
    end: int | None = Field(None, ge=0)


class RunSearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    limit: int = Field(20, ge=0, le=1000)


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """OpenAI's request; fields ragkit does not use (temperature, …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    ragkit_mode: Literal["auto", "generate", "extract"] | None = Field(
        None, description="ragkit's answer mode (default: the server's answer.mode)"
    )
    collection: str | None = Field(None, description="search only this collection")
    ragkit_route: Literal["auto", "docs"] | None = Field(
        None,
        description="'auto' (default): a question closer to a database's schema than to any passage is asked of"
        " that database (among those the key may use); 'docs': the documents only",
    )


class DatabaseAskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    question: str = Field(min_length=1, max_length=4000)
    model: str | None = None
    sql_mode: Literal["auto", "rules", "model"] | None = None


class DatabaseQueryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    sql: str = Field(min_length=1, max_length=20000)


class ErrorBody(BaseModel):
    message: str
    type: str


class ErrorResponse(BaseModel):
    error: ErrorBody


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "a request ragkit cannot serve (the message says why)"},
    401: {"model": ErrorResponse, "description": "no key, or an unknown or revoked one"},
    403: {"model": ErrorResponse, "description": "a collection outside the key's, or a change with a read-only key"},
    404: {"model": ErrorResponse, "description": "no such collection, indexed file (passage) or saved search"},
    413: {"model": ErrorResponse, "description": "a body over serve.max_body_kb, refused before it is read"},
}
