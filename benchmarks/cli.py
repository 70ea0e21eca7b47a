"""Start-up of the command line, cold, as a script or an editor calls it: the wall time of
`ragkit search` and of `ragkit ask` up to its first answer token, on the samples index,
against `python -c pass` (the interpreter alone) measured in the same run.

Each command is a fresh process, run --runs times after one run that is not counted (it
writes the modules' bytecode, as installing a package does: PYTHONDONTWRITEBYTECODE is
dropped); the median is reported. The samples are indexed first (with the ONNX export made,
as an index run makes it); the model's first token is seen on the streamed standard output.
`ragkit search` is measured twice: searching the vectors the manifest records (the default
within retrieve.exact_limit) and through Chroma's HNSW index (the limit set to 0).

    .venv/bin/python benchmarks/cli.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
RAGKIT = [str(Path(sys.executable).parent / "ragkit")]  # the installed command, as a user runs it
QUESTION = "Where are the shared MIME-info database XML files installed?"


def wall(command: list[str], env: dict[str, str], first_output: bool = False) -> float:
    """Seconds until ``command`` exits, or, with ``first_output``, until it writes anything
    (the CLI streams the answer's first token before anything else)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    if first_output and proc.stdout.read(1):
        elapsed = time.perf_counter() - started
        proc.kill()
        proc.wait()
        return elapsed
    proc.communicate()
    if proc.returncode:
        sys.exit(f"{' '.join(command)} failed with exit code {proc.returncode}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ, RAGKIT_HOME=tempfile.mkdtemp(prefix="ragkit-bench-cli-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    over_limit = dict(env, RAGKIT_RETRIEVE__EXACT_LIMIT="0")
    subprocess.run([*RAGKIT, "index", str(ROOT / "samples")], env=env, check=True, capture_output=True)

    cases = {
        "python -c pass": ([sys.executable, "-c", "pass"], False),
        "ragkit --help": ([*RAGKIT, "--help"], False),
        "ragkit search": ([*RAGKIT, "search", QUESTION], False),
        "ragkit search, via Chroma": ([*RAGKIT, "search", QUESTION], False),
        "ragkit ask, first token": ([*RAGKIT, "ask", QUESTION, "--mode", "generate"], True),
    }
    base = None
    print(f"median of {args.runs} cold runs each (samples index, {os.cpu_count()} cores)")
    for label, (command, first_output) in cases.items():
        run_env = over_limit if "Chroma" in label else env
        wall(command, run_env, first_output)  # not counted: writes the bytecode
        times = [wall(command, run_env, first_output) for _ in range(args.runs)]
        median = statistics.median(times)
        base = base or median
        print(f"  {label:<26} {median:6.2f} s   ({median / base:5.1f}x python -c pass)")


if __name__ == "__main__":
    main()
