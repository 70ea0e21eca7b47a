"""Verification benchmark: how often "verified" is right, on a labelled claim set.

Each case of ``tests/data/claims.jsonl`` is a source window (a real sentence of the SQuAD 2.0
dev articles), a claim written about it, whether the window supports the claim, and the kind
of change (paraphrase, negation, number, name, role, antonym, partial); to these the benchmark
adds, per window, a "salad" claim: half the window's words in a seeded random order. The claim is cited as
``[1]`` against the window through ragkit's own ``attribute()``, exactly as an answer is.

Reports the precision and recall of "verified", and for every kind of unsupported claim how
many were wrongly verified (target: none for negation, number and name), and for true
paraphrases how many were verified (target: at least 90 %).

    .venv/bin/python benchmarks/verify.py [--claims FILE] [--show] [--lexical]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]


def word_salad(cases: list[dict], seed: int = 3) -> list[dict]:
    """One unsupported "salad" claim per distinct window: half of its words, shuffled."""
    rng = random.Random(seed)
    salads = []
    for window in dict.fromkeys(case["window"] for case in cases):
        words = window.rstrip(".").split()
        rng.shuffle(words)
        claim = " ".join(words[: max(6, len(words) // 2)]) + "."
        salads.append({"window": window, "claim": claim, "supported": False, "kind": "salad"})
    return salads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=Path, default=ROOT / "tests" / "data" / "claims.jsonl")
    parser.add_argument("--show", action="store_true", help="print every wrong verdict")
    parser.add_argument("--lexical", action="store_true", help="without the embedder's semantic signal")
    args = parser.parse_args()

    from ragkit.answer.attribution import attribute
    from ragkit.index.embed import SentenceTransformerEmbedder
    from ragkit.search.retrieve import Hit

    embed = None if args.lexical else SentenceTransformerEmbedder().embed
    cases = [json.loads(line) for line in args.claims.read_text("utf-8").splitlines() if line.strip()]
    cases += word_salad(cases)
    by_kind: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    for case in cases:
        window = case["window"]
        hit = Hit(id="w", doc="w", path="window.txt", page=None, start=0, end=len(window), score=1.0, text=window)
        result = attribute(f"{case['claim']} [1]", [hit], embed=embed)
        verified = bool(result.sentences) and all(s.supported for s in result.sentences)
        by_kind[case["kind"]].append((case["supported"], verified))
        if args.show and verified != case["supported"]:
            verdict = "FALSE VERIFIED" if verified else "MISSED"
            print(f"{verdict} [{case['kind']}] {case['claim']}\n    window: {window}")

    pairs = [pair for rows in by_kind.values() for pair in rows]
    true_pos = sum(1 for gold, said in pairs if gold and said)
    said_yes = sum(1 for _, said in pairs if said)
    gold_yes = sum(1 for gold, _ in pairs if gold)
    print(f"claims: {len(pairs)} ({gold_yes} supported)")
    print(f"precision of 'verified': {true_pos / max(said_yes, 1):.3f}   recall: {true_pos / max(gold_yes, 1):.3f}")
    for kind in sorted(by_kind):
        rows = by_kind[kind]
        supported = [said for gold, said in rows if gold]
        unsupported = [said for gold, said in rows if not gold]
        parts = []
        if supported:
            parts.append(f"verified {sum(supported)}/{len(supported)} supported")
        if unsupported:
            parts.append(f"falsely verified {sum(unsupported)}/{len(unsupported)} unsupported")
        print(f"  {kind:<11} " + ", ".join(parts))


if __name__ == "__main__":
    main()
