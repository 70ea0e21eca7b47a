"""Chat models: list, pull, add, use, info."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Literal

import click

from ragkit.cli.common import json_option, open_local
from ragkit.cli.output import DownloadBar, emit_json


@click.group()
def model() -> None:
    """Chat models: list, pull, add, use, info."""


@model.command("list")
@json_option()
def model_list(as_json: bool) -> int:
    """Known and installed models."""
    rows = open_local().models()
    if as_json:
        emit_json(rows)
        return 0
    for row in rows:
        mark = "*" if row["default"] else " "
        where = (
            row["path"] if row["installed"] else f"not downloaded: ragkit model pull {row['name']}  [{row['source']}]"
        )
        print(f"{mark} {row['name']:<16} {row['profile']:<5} {where}")
    print("\n* answers use this model (change it with: ragkit model use NAME)")
    return 0


@model.command("pull")
@click.argument("name")
def model_pull(name: str) -> int:
    """Download a known model (needs internet; resumes): NAME from 'ragkit model list', or OWNER/REPO/FILE.gguf."""
    from ragkit.llm.catalog import pull

    rk = open_local()
    bar = DownloadBar(sys.stderr)
    ref = pull(rk.catalog, name, hub=rk.settings.models.hub_url, progress=bar)
    bar.finish()
    print(f"{ref.name}: {ref.path} (sha256 {ref.sha256})")
    print(f"use it with: ragkit model use {ref.name}")
    return 0


@model.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", default=None, help="the name to use it by (default: the file's)")
@click.option("--profile", type=click.Choice(["chat", "r1"]), default=None, help="default: guessed from the name")
def model_add(path: Path, name: str | None, profile: Literal["chat", "r1"] | None) -> int:
    """Register a GGUF file you already have."""
    rk = open_local()
    ref = rk.catalog.add(path, name, profile)
    print(f"added {ref.name} ({ref.profile} profile): {ref.path}")
    print(f"use it with: ragkit model use {ref.name}")
    return 0


@model.command("use")
@click.argument("name")
def model_use(name: str) -> int:
    """Make a model the default (saved in the config)."""
    from ragkit.core.config import update_config_file

    rk = open_local()
    ref = rk.catalog.resolve(name)  # refuses what is not installed, naming the fix
    path = update_config_file("llm", "model", ref.name if ref.name in rk.catalog.installed() else str(ref.path))
    print(f"answers now use {ref.name} (saved in {path})")
    return 0


@model.command("info")
@click.argument("name", required=False)
@json_option()
def model_info(name: str | None, as_json: bool) -> int:
    """Details of one model (default: the one answers use)."""
    from ragkit.llm.catalog import REGISTRY
    from ragkit.llm.gguf import read_header

    rk = open_local()
    ref = rk.model_ref(name)
    cfg = rk.settings.llm
    params = rk.generation_params(rk.profile_of(ref.profile))
    header = read_header(ref.path)
    info = {
        **ref.as_dict(),
        "size_mb": round(ref.path.stat().st_size / 1e6, 1),
        "known": ref.name in REGISTRY,
        "model": header.name,
        "architecture": header.architecture,
        "quantization": header.quantization,
        "trained_context": header.context_length,
        "chat_template": "with think blocks" if header.reasons else "yes" if header.chat_template else "none",
        "temperature": params.temperature,
        "top_p": params.top_p,
        "starts_in_think": params.start_in_think,
        "reasoning_tokens": params.reasoning_budget,
        "n_ctx": cfg.n_ctx,
        "n_gpu_layers": cfg.n_gpu_layers,
        "note": rk.model_note(name),
    }
    if as_json:
        emit_json(info)
        return 0
    for key, value in info.items():
        print(f"{key:>16}: {value}")
    return 0


COMMANDS = [model]
