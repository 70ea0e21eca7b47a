"""Configuration: one pydantic-settings tree.

Sources, highest first: arguments, environment (``RAGKIT_`` prefix, ``__`` nesting, e.g.
``RAGKIT_LLM__N_CTX=8192``), the TOML file (see :func:`ragkit.core.paths.config_file`), defaults.
Unknown keys are rejected so typos never pass silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from ragkit.core import paths
from ragkit.core.errors import ConfigError
from ragkit.core.files import write_atomic


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbedSettings(_Section):
    model: str = Field(
        "all-MiniLM-L6-v2", description="Embedding model: 'all-MiniLM-L6-v2' (packaged) or a local path."
    )
    batch_size: int = Field(32, ge=1, description="Chunks embedded per batch.")
    backend: Literal["torch", "onnx"] = Field(
        "torch",
        description=(
            "What embeds documents when indexing: 'torch' (sentence-transformers) or 'onnx' (the model's local "
            "ONNX export on onnxruntime). Searches and answer checks always use the ONNX export: no torch."
        ),
    )
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description=(
            "Arithmetic of the torch backend: 'bf16' (about 3x faster where the CPU has native bf16: AVX-512 BF16 "
            "or AMX), 'fp32', or 'auto' (bf16 where native, else fp32). Vectors match fp32 at cosine >= 0.9999, "
            "so an index may mix them."
        ),
    )
    onnx_dir: Path | None = Field(
        None, description="Where ONNX exports of embedding models are kept; default: <home>/models/embed-onnx."
    )
    url: str | None = Field(
        None,
        description=(
            "An OpenAI-compatible embeddings server (POST /v1/embeddings: llama.cpp, vLLM, text-embeddings-inference,"
            " another ragkit serve) that embeds documents and queries instead of this machine; it must serve"
            " embed.model."
        ),
    )
    api_key: str | None = Field(None, description="Bearer key for embed.url, if it wants one.")
    tokenizer: Path | None = Field(
        None, description="With embed.url: a folder holding the served model's tokenizer.json, to size chunks."
    )
    timeout_s: float = Field(120.0, gt=0, description="With embed.url: seconds to wait for one batch's vectors.")


class ChunkSettings(_Section):
    max_tokens: int | None = Field(
        None, ge=16, description="Tokens per chunk; default: the embedder's window less its special tokens."
    )
    overlap: int = Field(24, ge=0, description="Tokens shared by neighbouring chunks.")


class EntitiesSettings(_Section):
    enabled: bool = Field(
        True, description="Find entities (e-mails, phones, IBANs, URLs, amounts, dates; names with a model)."
    )
    model: str | None = Field(
        None,
        description="A spaCy pipeline (a folder, or an installed package's name) that finds people, organisations"
        ' and places; unset: the en_core_web_sm installed with ragkit; "": no names (patterns only).',
    )
    phone_region: str | None = Field(
        None, description="Country whose national phone numbers are read (e.g. NO, US); else international only."
    )
    workers: int = Field(
        0, ge=0, description="Processes that find names in a long run (0: one per core; 1: none, in ragkit's own)."
    )


class IndexSettings(_Section):
    max_file_mb: float = Field(256.0, gt=0, description="Files larger than this are recorded as failed, not read.")
    parse_timeout_s: float = Field(
        120.0, gt=0, description="Time limit for a file's parse that makes no progress (no page read, no chunk made)."
    )
    parse_workers: int = Field(1, ge=1, description="Processes parsing files while the embedder works.")
    ocr: bool = Field(False, description="Read PDF pages without a text layer with Tesseract (the 'ocr' extra).")
    cluster: str | None = Field(
        None,
        description="A Ray cluster (ray://HOST:PORT) whose workers parse and embed files; this machine stays the"
        " only writer (the 'cluster' extra).",
    )
    cluster_timeout_s: float = Field(
        1800.0, gt=0, description="With index.cluster: a file whose task runs longer is recorded as failed."
    )
    cluster_task_cpus: int = Field(
        1, ge=1, description="With index.cluster: CPUs each file's task takes on its node (the embedder's threads)."
    )


class WatchSettings(_Section):
    folders: list[Path] = Field(default_factory=list, description="Folders kept in sync (ragkit folders add).")
    poll: bool = Field(False, description="Poll instead of OS events (network drives).")
    debounce_s: float = Field(0.25, gt=0, description="Quiet time before a batch of changes is indexed.")
    rescan_s: float = Field(300.0, gt=0, description="Interval of the light rescan that catches dropped events.")
    rows_s: float = Field(
        60.0, gt=0, description="Interval at which the watcher syncs databases' rows indexed as documents."
    )


class RetrieveSettings(_Section):
    top_k: int = Field(3, ge=1, le=50, description="Passages given to the model.")
    evidence_k: int = Field(
        8, ge=1, le=50, description="Passages searched for sentences to quote (answer modes auto and extract)."
    )
    min_score: float = Field(
        0.2, ge=-1, le=1, description="Cosine similarity below which a passage counts as not relevant."
    )
    mode: Literal["dense", "keyword", "hybrid"] = Field(
        "hybrid",
        description="How search and ask rank passages: 'dense' (the embedder's meaning), 'keyword' (BM25 over"
        " the stemmed words, file names included) or 'hybrid' (both lists' scores scaled and averaged).",
    )
    exact_limit: int = Field(
        100_000,
        ge=0,
        description="Up to this many chunks, a search compares the query with every vector recorded in the"
        " manifest (exact, and without opening Chroma); above it, Chroma's HNSW index answers.",
    )
    keyword_memory: bool = Field(
        True,
        description="In a process that keeps running (ragkit serve, the TUI), hold the ranked keyword index in"
        " memory: the same BM25 scores, several times faster at 100,000 passages, for about 8 bytes per distinct"
        " word of each passage.",
    )


class LLMSettings(_Section):
    backend: Literal["llamacpp", "openai"] = Field(
        "llamacpp", description="'llamacpp' (in-process) or 'openai' (any OpenAI-compatible server at llm.url)."
    )
    url: str | None = Field(None, description="Server URL for the 'openai' backend, e.g. http://127.0.0.1:8080.")
    api_key: str | None = Field(None, description="Bearer token for the server, if it wants one.")
    model: str | None = Field(
        None, description="Model name (ragkit model list) or GGUF path; default: r1-qwen-1.5b if pulled, else packaged."
    )
    profile: Literal["auto", "chat", "r1"] = Field(
        "auto", description="How the model is driven; 'auto' guesses from its name (R1 distills: 'r1')."
    )
    n_ctx: int = Field(4096, ge=512, description="Context window in tokens.")
    max_tokens: int = Field(320, ge=16, description="Most tokens generated for the answer itself.")
    reasoning_tokens: int = Field(
        768, ge=0, description="Reasoning budget of R1 models: past it the think block is closed and the model answers."
    )
    temperature: float | None = Field(
        None, ge=0, le=2, description="Sampling temperature; default by profile (R1: 0.6)."
    )
    top_p: float | None = Field(None, gt=0, le=1, description="Nucleus sampling; default by profile (0.95).")
    repeat_penalty: float = Field(1.25, ge=1, description="Penalty against repeating recent tokens.")
    n_gpu_layers: int = Field(0, description="Layers offloaded to a GPU (-1: all).")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: llama.cpp's choice.")
    seed: int = Field(0, description="Sampling seed, so answers are reproducible.")
    prompt_cache: bool = Field(True, description="Reuse the computed prefix of a conversation for follow-ups.")


class AnswerSettings(_Section):
    mode: Literal["auto", "generate", "extract"] = Field(
        "auto",
        description=(
            "'auto': the model answers, and when none of its text verifies, the passages' best sentences are "
            "quoted instead; 'generate': the model's answer only; 'extract': quoted sentences, no model."
        ),
    )
    route: Literal["auto", "docs"] = Field(
        "auto",
        description="'auto': with databases added, a question goes to the database whose schema is closer to it than"
        " any passage is (else to the documents); 'docs': always the documents (ask --db NAME asks a database).",
    )


class ModelsSettings(_Section):
    hub_url: str = Field("https://huggingface.co", description="Where 'ragkit model pull' downloads from.")


class StoreSettings(_Section):
    url: str | None = Field(
        None,
        description="A Chroma server (chroma run) to keep the vectors in, e.g. http://127.0.0.1:8000;"
        " default: embedded, in the data directory.",
    )
    collection: str = Field(
        "",
        description="The collection on that server (default: one named for this data directory, so"
        " several ragkit indexes can share a server).",
    )


class ServeSettings(_Section):
    host: str = Field("127.0.0.1", description="Where 'ragkit serve' listens (loopback unless told otherwise).")
    port: int = Field(8765, ge=1, le=65535, description="Its port.")
    audit_max_mb: float = Field(10.0, gt=0, description="Size at which the audit log is rotated (5 kept).")
    max_body_kb: int = Field(1024, ge=1, description="Largest request body accepted (413 beyond it).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Names the server may be reached by (the Host header; and the Origin of a browser's request)."
        " Empty: the loopback names when listening on loopback (so a web page cannot reach it through DNS"
        " rebinding), any name otherwise (keys guard such a server).",
    )


class DbSettings(_Section):
    sql_mode: Literal["auto", "rules", "model"] = Field(
        "auto",
        description="Who writes the SQL of a question to a database: 'rules' (no model: counts, totals, top N,"
        " lookups, filters and dates read from the schema and the data), 'model', or 'auto': the rules first, the"
        " model when the rules are not sure.",
    )


class DatabaseSettings(_Section):
    url: str = Field(description="sqlite:////abs/path.db or postgresql://USER@HOST:PORT/NAME (no password in it).")
    tables: list[str] = Field(default_factory=list, description="Tables that may be read (empty: all).")
    text_columns: list[str] = Field(
        default_factory=list, description="table.column values indexed as documents (rows as documents)."
    )
    password_env: str | None = Field(None, description="Environment variable holding the password, if one is needed.")
    encoding: str | None = Field(
        None,
        description="SQLite: the encoding of text that is not UTF-8 (cp1252, latin-1, cp850…); default: detected.",
    )
    cursor_columns: list[str] = Field(
        default_factory=list,
        description="table.column that grows when a row changes (a timestamp, a version): only newer rows are read"
        " again at each sync (without one a table's rows are all read and compared).",
    )
    collections: list[str] = Field(
        default_factory=list,
        description="On a server: the collections whose keys may use it (empty: keys not limited to collections).",
    )
    keys: list[str] = Field(default_factory=list, description="On a server: only these keys may use it (empty: any).")


class ClientSettings(_Section):
    server: str | None = Field(
        None,
        description="A ragkit server (ragkit serve) that ask, search, find, status and the terminal UI use"
        " instead of the index here, e.g. http://10.0.0.5:8765 (also: --server, RAGKIT_SERVER).",
    )
    api_key: str | None = Field(
        None, description="The key that server gave you (ragkit keys create on it; also: RAGKIT_API_KEY)."
    )


class Settings(BaseSettings):
    """All of ragkit's settings."""

    model_config = SettingsConfigDict(
        env_prefix="RAGKIT_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(default_factory=paths.home, description="Data directory (index, models, history).")
    embed: EmbedSettings = Field(default_factory=EmbedSettings)  # type: ignore[arg-type]
    chunk: ChunkSettings = Field(default_factory=ChunkSettings)  # type: ignore[arg-type]
    index: IndexSettings = Field(default_factory=IndexSettings)  # type: ignore[arg-type]
    retrieve: RetrieveSettings = Field(default_factory=RetrieveSettings)  # type: ignore[arg-type]
    llm: LLMSettings = Field(default_factory=LLMSettings)  # type: ignore[arg-type]
    answer: AnswerSettings = Field(default_factory=AnswerSettings)  # type: ignore[arg-type]
    watch: WatchSettings = Field(default_factory=WatchSettings)  # type: ignore[arg-type]
    entities: EntitiesSettings = Field(default_factory=EntitiesSettings)  # type: ignore[arg-type]
    models: ModelsSettings = Field(default_factory=ModelsSettings)  # type: ignore[arg-type]
    store: StoreSettings = Field(default_factory=StoreSettings)  # type: ignore[arg-type]
    serve: ServeSettings = Field(default_factory=ServeSettings)  # type: ignore[arg-type]
    client: ClientSettings = Field(default_factory=ClientSettings)  # type: ignore[arg-type]
    db: DbSettings = Field(default_factory=DbSettings)  # type: ignore[arg-type]
    collections: dict[str, list[Path]] = Field(
        default_factory=dict, description="Named groups of folders a server's keys may be limited to."
    )
    databases: dict[str, DatabaseSettings] = Field(
        default_factory=dict, description="Databases questions may be asked of (ragkit db add)."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=paths.config_file())


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(
            f"invalid configuration ({problems}); fix {paths.config_file()} or RAGKIT_* variables"
        ) from exc


def update_config_file(section: str, key: str, value: object) -> Path:
    """Set ``[section] key = value`` in the TOML config file, keeping its other settings."""
    import tomllib

    import tomli_w

    path = paths.config_file()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it") from exc
    data.setdefault(section, {})[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomli_w.dumps(data))
    return path


def remove_config_key(section: str, key: str) -> Path:
    """Remove ``[section] key`` from the TOML config file, keeping its other settings."""
    import tomllib

    import tomli_w

    path = paths.config_file()
    if not path.exists():
        return path
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML ({exc}); fix or remove it") from exc
    data.get(section, {}).pop(key, None)
    write_atomic(path, tomli_w.dumps(data))
    return path
