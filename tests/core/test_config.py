from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.core.config import load_settings
from ragkit.core.errors import ConfigError


def test_defaults_live_under_ragkit_home(_isolated_home: Path) -> None:
    settings = load_settings()
    assert settings.home == _isolated_home
    assert settings.embed.model == "all-MiniLM-L6-v2"


def test_env_nesting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGKIT_LLM__N_CTX", "8192")
    monkeypatch.setenv("RAGKIT_RETRIEVE__TOP_K", "7")
    settings = load_settings()
    assert (settings.llm.n_ctx, settings.retrieve.top_k) == (8192, 7)


def test_toml_file_is_read(_isolated_home: Path) -> None:
    (_isolated_home / "config.toml").write_text("[chunk]\noverlap = 10\n[llm]\nmax_tokens = 99\n")
    settings = load_settings()
    assert (settings.chunk.overlap, settings.llm.max_tokens) == (10, 99)


def test_unknown_key_in_toml_is_rejected_with_the_fix(_isolated_home: Path) -> None:
    (_isolated_home / "config.toml").write_text("[llm]\nn_ctxx = 2048\n")
    with pytest.raises(ConfigError, match=r"llm\.n_ctxx.*config\.toml"):
        load_settings()


def test_invalid_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGKIT_RETRIEVE__TOP_K", "0")
    with pytest.raises(ConfigError, match=r"retrieve\.top_k"):
        load_settings()
