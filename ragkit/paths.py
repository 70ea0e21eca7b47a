"""Every on-disk location ragkit uses, in one place."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir

APP = "ragkit"


def home() -> Path:
    """The data directory: ``$RAGKIT_HOME`` if set, else the platform's user data dir."""
    override = os.environ.get("RAGKIT_HOME")
    return Path(override).expanduser() if override else Path(user_data_dir(APP))


def config_file() -> Path:
    """The optional TOML config: ``$RAGKIT_CONFIG``, else ``$RAGKIT_HOME/config.toml``
    when ``RAGKIT_HOME`` is set, else the platform's user config dir."""
    explicit = os.environ.get("RAGKIT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("RAGKIT_HOME"):
        return home() / "config.toml"
    return Path(user_config_dir(APP)) / "config.toml"


def index_dir(root: Path) -> Path:
    return root / "index"


def models_dir(root: Path) -> Path:
    return root / "models"
