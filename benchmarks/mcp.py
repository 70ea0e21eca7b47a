"""MCP latency: a `search` through `ragkit mcp` (the official SDK's client, stdio, a subprocess)
against the same search through the command line's in-process path, in one run.

1. Index samples/ and Markdown files from ../shared/data/corpus into a fresh home (as
   benchmarks/serve.py does; queries are runs of 2 to 5 words of their text).
2. Baseline: the facade the CLI opens (`open_local`), QUERIES searches, after one to warm up.
3. MCP: `ragkit mcp` started by the SDK's client, the same searches as tool calls, after one to
   warm up; each call's hits checked to be the baseline's (same paths, same order).

Reports p50 and p95 of each and their ratio (MCP / in-process): what the protocol, the JSON and
the process boundary add to a search.

    .venv/bin/python benchmarks/mcp.py [--files 200] [--queries 40]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from benchmarks.serve import corpus, percentile  # noqa: E402 (the same corpus and queries as the office load)


def ms(values: list[float], q: float) -> float:
    return round(percentile(values, q) * 1000, 1)


def in_process(queries: list[str]) -> tuple[list[float], list[list[str]]]:
    from ragkit.cli.common import open_local

    rk = open_local(warm_queries=True)
    try:
        rk.search(queries[0], 5)
        times, paths = [], []
        for query in queries:
            start = time.perf_counter()
            hits = rk.search(query, 5)
            times.append(time.perf_counter() - start)
            paths.append([h.path for h in hits])
        return times, paths
    finally:
        rk.close()


def over_mcp(queries: list[str]) -> tuple[list[float], list[list[str]]]:
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-m", "ragkit", "mcp"], env=dict(os.environ))
    times: list[float] = []
    paths: list[list[str]] = []

    async def run() -> None:
        async with Client(params, read_timeout_seconds=300) as client:
            await client.call_tool("search", {"query": queries[0], "k": 5})
            for query in queries:
                start = time.perf_counter()
                result = await client.call_tool("search", {"query": query, "k": 5})
                times.append(time.perf_counter() - start)
                found: Any = result.structured_content or {}
                paths.append([h["path"] for h in found.get("hits", [])])

    anyio.run(run)
    return times, paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ragkit-mcp-bench-") as tmp:
        os.environ["RAGKIT_HOME"] = str(Path(tmp) / "home")
        docs = Path(tmp) / "docs"
        docs.mkdir()
        queries = corpus(docs, args.files)[: args.queries]
        indexed = subprocess.run([sys.executable, "-m", "ragkit", "index", str(docs)], capture_output=True, text=True)
        if indexed.returncode != 0:
            raise SystemExit(indexed.stderr)
        base, base_paths = in_process(queries)
        mcp, mcp_paths = over_mcp(queries)
    same = sum(a == b for a, b in zip(base_paths, mcp_paths, strict=True))
    report = {
        "queries": len(queries),
        "in_process_ms": {
            "p50": round(percentile(base, 0.5) * 1000, 1),
            "p95": round(percentile(base, 0.95) * 1000, 1),
        },
        "mcp_ms": {"p50": round(percentile(mcp, 0.5) * 1000, 1), "p95": round(percentile(mcp, 0.95) * 1000, 1)},
        "ratio_p50": round(percentile(mcp, 0.5) / percentile(base, 0.5), 2),
        "ratio_p95": round(percentile(mcp, 0.95) / percentile(base, 0.95), 2),
        "same_hits": f"{same}/{len(queries)}",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
