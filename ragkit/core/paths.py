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


# --- in the data directory (``root``: settings.home) --------------------------------------


def keys_file(root: Path) -> Path:
    """A server's API keys (hashed)."""
    return root / "keys.json"


def audit_dir(root: Path) -> Path:
    """A server's audit log and its rotated parts."""
    return root / "audit"


def conversations_dir(root: Path) -> Path:
    """Saved chats (``ask --chat``), one JSON file each."""
    return root / "conversations"


def watch_state_file(root: Path) -> Path:
    """The watcher's state, for ``ragkit status`` in another process."""
    return root / "watch.json"


def entities_file(root: Path) -> Path:
    """The person's clean-up of names: merges and ignores."""
    return root / "entities.json"


def marks_file(root: Path) -> Path:
    """Tags and notes on documents: kept apart from the index, so a rebuild keeps them."""
    return root / "marks.db"


def searches_file(root: Path) -> Path:
    """Saved searches (outside the index: a rebuild keeps them)."""
    return root / "searches.db"


def rows_dir(root: Path) -> Path:
    """Databases' rows as documents: ``NAME/TABLE/ID.txt``."""
    return root / "db-rows"


def eval_dir(root: Path) -> Path:
    """Indexes made by ``ragkit eval`` for a BEIR folder."""
    return root / "eval"


# --- in the index folder (``index``: index_dir(root)) -------------------------------------


def manifest_file(index: Path) -> Path:
    return index / "manifest.sqlite"


def vectors_dir(index: Path) -> Path:
    """The local Chroma store."""
    return index / "chroma"


def writer_lock_file(index: Path) -> Path:
    return index / "writer.lock"


def ignored_file(index: Path) -> Path:
    """What the last run of each root left out by a rule (``status --ignored``)."""
    return index / "ignored.json"


PRIVATE_UMASK = 0o077  # what ragkit writes (the index holds the text of private documents) only its user reads


def keep_private() -> None:
    """From now on, files this process creates are its user's alone (0600, folders 0700)."""
    os.umask(PRIVATE_UMASK)


def make_private(folder: Path) -> None:
    """Create ``folder`` (0700), or take group and others' access away from it if it has any."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = folder.stat().st_mode & 0o777
    if mode & 0o077 and folder.stat().st_uid == os.getuid():
        folder.chmod(mode & 0o700)


def exposed(path: Path) -> str | None:
    """A warning when ``path`` (a config or key file) can be read by other users, else None."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    if mode & 0o044:
        return f"{path} can be read by other users (mode {mode:04o}); it may hold secrets: chmod 600 {path}"
    return None
