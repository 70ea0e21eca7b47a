"""Fit the packaged sentence model (ragkit/answer/sentence_model.json) on all five shared
SQuAD 2.0 articles and ragkit's invented documents (tests/data/invented). Its held-out
figures (each article or document left out in turn) are what
benchmarks/answer_quality.py reports; this script prints only the training figures.

    .venv/bin/python scripts/fit_answer_model.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    from benchmarks.answer_quality import collect, open_invented, open_squad
    from ragkit.answer.fit import fit, outcomes
    from ragkit.answer.quotes import FEATURES, MODEL_FILE

    started = time.perf_counter()
    rk, questions_invented, _ = open_invented()
    rows_invented = collect(rk, questions_invented, "invented")
    rk.close()
    rk, documents, questions = open_squad()
    rows = collect(rk, questions, "squad", "SQuAD features")
    rk.close()
    about = {
        "fitted on": f"SQuAD 2.0 dev: {len(documents)} articles, {len(questions)} questions; "
        f"tests/data/invented: {len(questions_invented)} questions",
        "script": "scripts/fit_answer_model.py",
    }
    model = fit(rows + rows_invented, about)
    model.save(MODEL_FILE)
    print(f"features of {len(questions) + len(questions_invented)} questions in {time.perf_counter() - started:.0f} s")
    for name, weight in zip(FEATURES, model.weights, strict=True):
        print(f"  {name:<16} {weight:+.3f}")
    print(f"  threshold {model.threshold:.2f}, within {model.within:.2f}")
    for label, some in (("SQuAD", rows), ("invented", rows_invented)):
        seen = {k: f"{v:.1%}" for k, v in outcomes(some, model).items()}
        print(f"training figures on {label} (not held out; benchmarks/answer_quality.py holds out):", seen)
    print(f"written to {MODEL_FILE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
