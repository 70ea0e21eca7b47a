"""Office load: `ragkit serve` on loopback with 16 clients searching, finding and asking at
once while files change under its watcher.

1. Index a corpus (samples/ and Markdown files from ../shared/data/corpus), start `ragkit
   serve` over it (its watcher on), warm it up.
2. Baseline, same run: search latency with one client and nothing else happening.
3. Load: CLIENTS threads, each with its own HTTP connection, for DURATION seconds or
   REQUESTS requests each (whichever comes first), each waiting THINK seconds on average
   between requests as a person or a tool would: searches (most), finds, and every
   ASK_EVERY-th request a question (answered by the packaged model, one at a time on the
   server). Meanwhile a writer adds,
   edits, renames and deletes files in the watched folder, each change carrying a word of
   its own.
4. After the load: wait for the watcher, then check every change is searchable as it
   should be (added and edited words found in the right file, renamed files found at the
   new path only, deleted words gone): a "lost update" is one that is not.

Reports throughput, p50/p95 per kind of request, errors and lost updates. Targets: zero
errors, no lost update, search p95 under load <= 3x the unloaded p95.

    .venv/bin/python benchmarks/serve.py [--clients 16] [--duration 60] [--requests 400]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]
DATA = ROOT.parent / "shared" / "data"
WORD = re.compile(r"[A-Za-z]{5,}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def corpus(folder: Path, max_files: int) -> list[str]:
    """Copy samples/ and Markdown documentation into ``folder``; queries drawn from its text."""
    shutil.copytree(ROOT / "samples", folder / "samples")
    source = DATA / "corpus" / "rust-rfcs-md"
    if not source.is_dir():
        raise SystemExit(f"the shared corpus is missing: {source}")
    (folder / "rfcs").mkdir()
    for path in sorted(source.rglob("*.md"))[:max_files]:
        shutil.copy(path, folder / "rfcs" / path.name)
    rng = random.Random(7)
    queries = []
    for path in sorted((folder / "rfcs").glob("*.md"))[:200]:
        words = WORD.findall(path.read_text(errors="replace"))
        if len(words) > 20:
            start = rng.randrange(len(words) - 6)
            queries.append(" ".join(words[start : start + rng.choice((2, 3, 5))]))
    return queries


class Writer(threading.Thread):
    """Changes files in the watched folder while the clients run; remembers what each change
    should make searchable (or no longer searchable)."""

    def __init__(self, folder: Path, stop: threading.Event, every_s: float) -> None:
        super().__init__(daemon=True)
        self.folder, self.stop, self.every_s = folder, stop, every_s
        self.present: dict[str, str] = {}  # word -> the file it must be found in
        self.absent: set[str] = set()  # words that must be found nowhere
        self.moved_from: dict[str, str] = {}  # word -> a path it must no longer be found at
        self.changes = 0
        self.last_change = 0.0  # time.time() of the last change

    def run(self) -> None:
        n = 0
        while not self.stop.wait(self.every_s):
            n += 1
            kind = ("add", "edit", "rename", "delete")[n % 4]
            word = f"loadmark{n}q"
            if kind == "add" or not self.present:
                path = self.folder / f"added-{n}.txt"
                path.write_text(f"Note {n} written under load. The marker {word} appears here only.\n")
                self.present[word] = str(path)
            elif kind == "edit":
                _, path_s = next(iter(self.present.items()))
                with open(path_s, "a") as f:
                    f.write(f"An edit adds the marker {word} to this note.\n")
                self.present[word] = path_s
            elif kind == "rename":
                _, path_s = next(reversed(self.present.items()))
                target = Path(path_s).with_name(f"renamed-{n}.txt")
                os.replace(path_s, target)
                for w, p in self.present.items():
                    if p == path_s:
                        self.present[w] = str(target)
                        self.moved_from[w] = path_s
            else:
                _, path_s = next(iter(self.present.items()))
                for w in [w for w, p in self.present.items() if p == path_s]:
                    del self.present[w]
                    self.moved_from.pop(w, None)
                    self.absent.add(w)
                os.remove(path_s)
            self.changes += 1
            self.last_change = time.time()


def client(url: str, queries: list[str], until: float, requests: int, ask_every: int, think_s: float, seed: int,
           results: list[dict[str, Any]]) -> None:  # fmt: skip
    import httpx

    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=600, trust_env=False) as http:
        for i in range(requests):
            if time.monotonic() > until:
                break
            time.sleep(rng.uniform(0.5, 1.5) * think_s)  # a person (or a tool) between requests
            query = rng.choice(queries)
            if ask_every and i % ask_every == ask_every - 1:
                kind, route = "ask", "/v1/chat/completions"
                body: dict[str, Any] = {
                    "messages": [{"role": "user", "content": f"What does the text say about {query}?"}]
                }
            elif i % 5 == 4:
                kind, route, body = "find", "/v1/find", {"query": query.split()[0], "limit": 20}
            else:
                kind, route, body = "search", "/v1/search", {"query": query, "k": 5}
            started = time.perf_counter()
            try:
                response = http.post(route, json=body)
                ok = response.status_code == 200
                error = "" if ok else f"{response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"
            results.append({"kind": kind, "s": time.perf_counter() - started, "ok": ok, "error": error})


def settle(http: Any, writer: Writer, deadline_s: float = 120) -> float:
    """Wait until the server's watcher has taken in every change: a sync finished after the
    last change, and nothing queued. Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() < started + deadline_s:
        watcher = http.get("/v1/status").json().get("watcher") or {}
        if (watcher.get("last_sync") or 0) > writer.last_change and not watcher.get("queue"):
            break
        time.sleep(0.5)
    return time.monotonic() - started


def lost_updates(http: Any, writer: Writer) -> list[str]:
    lost = []
    for word, path in writer.present.items():
        found = http.post("/v1/find", json={"query": word, "limit": 10}).json()
        paths = [f["path"] for f in found["files"]]
        if paths != [path]:
            lost.append(f"{word}: expected in {path}, found in {paths}")
    for word in writer.absent:
        if http.post("/v1/find", json={"query": word, "limit": 1}).json()["total"]:
            lost.append(f"{word}: deleted, still found")
    return lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (at most)")
    parser.add_argument("--requests", type=int, default=400, help="requests per client (at most)")
    parser.add_argument("--ask-every", type=int, default=40, help="every Nth request of a client is a question")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean seconds a client waits between requests (0: none)"
    )
    parser.add_argument("--baseline", type=int, default=200, help="searches of the unloaded baseline")
    parser.add_argument("--max-files", type=int, default=100, help="Markdown files indexed besides samples/")
    parser.add_argument("--change-every", type=float, default=1.0, help="seconds between file changes")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    import httpx

    from tests.helpers.servers import free_port, running

    work = Path(tempfile.mkdtemp(prefix="ragkit-serve-bench-"))
    try:
        docs, home = work / "docs", work / "home"
        queries = corpus(docs, args.max_files)
        env = dict(os.environ, RAGKIT_HOME=str(home))
        ragkit = [sys.executable, "-m", "ragkit"]
        started = time.perf_counter()
        subprocess.run([*ragkit, "index", str(docs)], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*ragkit, "folders", "add", str(docs)], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"indexed {docs} in {time.perf_counter() - started:.1f} s", flush=True)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        ready = lambda: httpx.get(url + "/v1/status", timeout=5).status_code == 200  # noqa: E731
        with running([*ragkit, "serve", "--port", str(port)], ready, work / "serve.log", env, deadline_s=300) as proc:
            http = httpx.Client(base_url=url, timeout=600, trust_env=False)
            state = http.get("/v1/status").json()
            print(f"serving {state['files']} files, {state['chunks']} chunks at {url}", flush=True)
            for q in queries[:20]:  # warm-up: the query model, the caches, the model
                http.post("/v1/search", json={"query": q, "k": 5})
            http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": queries[0]}]})
            rng = random.Random(3)
            unloaded = []
            for _ in range(args.baseline):
                t = time.perf_counter()
                http.post("/v1/search", json={"query": rng.choice(queries), "k": 5}).raise_for_status()
                unloaded.append(time.perf_counter() - t)
            print(f"unloaded search: p50 {percentile(unloaded, .5) * 1e3:.0f} ms, p95 "
                  f"{percentile(unloaded, .95) * 1e3:.0f} ms ({len(unloaded)} searches)", flush=True)  # fmt: skip

            stop = threading.Event()
            writer = Writer(docs / "samples", stop, args.change_every)
            results: list[dict[str, Any]] = []
            until = time.monotonic() + args.duration
            threads = [
                threading.Thread(
                    target=client, args=(url, queries, until, args.requests, args.ask_every, args.think, i, results)
                )
                for i in range(args.clients)
            ]
            began = time.perf_counter()
            writer.start()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - began
            stop.set()
            writer.join()
            settled = settle(http, writer)
            lost = lost_updates(http, writer)
            http.close()
            proc.terminate()
            clean_stop = proc.wait(60) == 0
        log = (work / "serve.log").read_text(errors="replace")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    report: dict[str, Any] = {
        "clients": args.clients,
        "seconds": round(elapsed, 1),
        "requests": len(results),
        "throughput_rps": round(len(results) / elapsed, 1),
        "errors": sum(not r["ok"] for r in results),
        "error_samples": sorted({r["error"] for r in results if not r["ok"]})[:5],
        "file_changes": writer.changes,
        "settle_s": round(settled, 1),
        "lost_updates": lost,
        "unloaded_search_ms": {"p50": percentile(unloaded, 0.5) * 1e3, "p95": percentile(unloaded, 0.95) * 1e3},
        "server_clean_stop": clean_stop and "Traceback" not in log,
    }
    for kind in ("search", "find", "ask"):
        times = [r["s"] for r in results if r["kind"] == kind and r["ok"]]
        report[kind] = {
            "n": len(times),
            "p50_ms": percentile(times, 0.5) * 1e3,
            "p95_ms": percentile(times, 0.95) * 1e3,
        }
    ratio = report["search"]["p95_ms"] / report["unloaded_search_ms"]["p95"]
    report["search_p95_ratio"] = round(ratio, 2)
    report["targets_met"] = report["errors"] == 0 and not lost and ratio <= 3.0

    print(f"\n{args.clients} clients, {report['seconds']} s: {report['requests']} requests, "
          f"{report['throughput_rps']} req/s, {report['errors']} errors, {writer.changes} file changes, "
          f"{len(lost)} lost updates")  # fmt: skip
    print(f"{'request':8} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}")
    print(f"{'search*':8} {len(unloaded):>6} {report['unloaded_search_ms']['p50']:>8.0f} "
          f"{report['unloaded_search_ms']['p95']:>8.0f}   (* unloaded baseline)")  # fmt: skip
    for kind in ("search", "find", "ask"):
        row = report[kind]
        print(f"{kind:8} {row['n']:>6} {row['p50_ms']:>8.0f} {row['p95_ms']:>8.0f}")
    print(f"search p95 under load / unloaded: {ratio:.2f} (target <= 3)")
    for line in report["error_samples"] + lost[:10]:
        print(f"  {line}")
    print("targets met" if report["targets_met"] else "TARGETS NOT MET")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if report["targets_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
