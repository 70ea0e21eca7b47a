"""Run the real ``ragkit`` command in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def ragkit(
    *args: str | Path,
    home: Path | None = None,
    cwd: Path | None = None,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> Result:
    env = dict(os.environ, **(env or {}))
    if home is not None:
        env["RAGKIT_HOME"] = str(home)
    proc = subprocess.run(
        [sys.executable, "-m", "ragkit", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
