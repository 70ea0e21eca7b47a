"""Fitting the sentence model: logistic regression by Newton's method, and the decline
threshold chosen on the same training questions (``scripts/fit_answer_model.py`` fits the
packaged model; ``benchmarks/answer_quality.py`` fits one per held-out article)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragkit.answer.quotes import MAX_QUOTES, SentenceModel

L2 = 1.0  # ridge penalty (not on the bias)
# a right answer earns twice what a declined unanswerable question does (a person asked because
# the answer matters to them); a verified wrong answer costs as much as a right one earns
RIGHT_GAIN = 2.0
WRONG_COST = 2.0


@dataclass
class Question:
    """One training question: its candidate sentences' features, which hold a gold answer,
    and whether the question has one at all."""

    x: np.ndarray
    gold: np.ndarray  # bool per candidate
    answerable: bool
    group: str = ""  # the article (or document) it was asked of
    kind: str = ""  # the question set ("squad", "invented"): each counts alike in the choice of threshold
    weight: float = 1.0  # of its rows in the fit


def fit_weights(
    x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = 50, weights: np.ndarray | None = None
) -> np.ndarray:
    """Logistic-regression weights (the first column is the bias), each row counted ``weights``
    times (default once)."""
    s = np.ones(len(y)) if weights is None else weights
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (s * (p - y)) + penalty * w
        hessian = (x * (s * p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(x.shape[1])
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-7:
            break
    return w


def outcomes(questions: Sequence[Question], model: SentenceModel) -> dict[str, float]:
    """What the model's choice does on these questions: right (a chosen sentence holds gold),
    wrong (something chosen, none holds gold) and declined, as shares."""
    right = wrong = declined = answerable = unanswerable = 0
    for q in questions:
        chosen = _chosen(q, model)
        if q.answerable:
            answerable += 1
            if chosen.size and q.gold[chosen].any():
                right += 1
            elif chosen.size:
                wrong += 1
        else:
            unanswerable += 1
            declined += not chosen.size
    return {
        "right": right / max(answerable, 1),
        "wrong": wrong / max(answerable, 1),
        "declined": declined / max(unanswerable, 1),
    }


def _chosen(q: Question, model: SentenceModel) -> np.ndarray:
    if not len(q.x):
        return np.zeros(0, dtype=int)
    p = model.probability(q.x)
    order = np.argsort(-p)[:MAX_QUOTES]
    if p[order[0]] < model.threshold:
        return np.zeros(0, dtype=int)
    keep = [order[0]] + [i for i in order[1:] if p[i] >= max(model.threshold, p[order[0]] * model.within)]
    return np.asarray(keep, dtype=int)


def fit(questions: Sequence[Question], about: dict | None = None) -> SentenceModel:
    """The model fitted on ``questions``: weights, then the threshold and ``within`` that
    score best on them (``RIGHT_GAIN`` × right, minus ``WRONG_COST`` × wrong, plus declined; summed over the
    question sets, so a small set of another kind of document counts as much as a large one)."""
    used = [q for q in questions if len(q.x)]
    weights = fit_weights(
        np.vstack([q.x for q in used]),
        np.concatenate([q.gold.astype(float) for q in used]),
        weights=np.concatenate([np.full(len(q.x), q.weight) for q in used]),
    )
    sets = [[q for q in questions if q.kind == kind] for kind in dict.fromkeys(q.kind for q in questions)]
    best: tuple[float, SentenceModel] | None = None
    for threshold in np.arange(0.02, 0.9, 0.02):
        for within in (0.5, 0.7, 0.9, 1.01):
            model = SentenceModel(list(weights), float(threshold), within, dict(about or {}))
            value = 0.0
            for some in sets:
                o = outcomes(some, model)
                value += RIGHT_GAIN * o["right"] - WRONG_COST * o["wrong"] + o["declined"]
            if best is None or value > best[0]:
                best = (value, model)
    assert best is not None
    return best[1]
