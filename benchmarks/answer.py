"""Answer benchmark: generation speed through ragkit against bare llama-cpp-python, and the
time to first token of a follow-up with and without the prompt cache.

1. Tokens/s of the answer through ragkit's full path (retrieval, prompt, stream parser,
   repetition guard, attribution) against bare ``llama_cpp.Llama.create_completion`` on the
   same model, the same prompt tokens and the same sampling, in the same run (target >= 0.95).
   Rate = tokens after the first / time from the first token to the last; median of the trials.
2. Time to first token of a follow-up question (from the call, so retrieval and prompt
   building count): with the cached prefix of the conversation, against the same follow-up
   after the cache is dropped (``reset_cache``).

    .venv/bin/python benchmarks/answer.py [--model NAME|PATH] [--trials N]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from tests.conftest import README_QUESTION as QUESTION  # noqa: E402

FOLLOW_UP = "What must the application run after installing that file?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()

    import os

    os.environ["RAGKIT_HOME"] = tempfile.mkdtemp(prefix="ragkit-bench-answer-")
    from llama_cpp import Llama

    from ragkit.answer.conversation import Conversation
    from ragkit.answer.prompt import build_prompt
    from ragkit.assistant.local import Answer, open_ragkit
    from ragkit.llm.llamacpp import _quiet_stderr

    rk = open_ragkit()
    rk.index([ROOT / "samples"])
    llm = rk.llm(args.model)
    params = rk.generation_params(llm)
    print(f"model: {llm.name}; profile {rk.profile(llm).name}; n_ctx {llm.n_ctx}")

    # --- 1. tokens/s -----------------------------------------------------------------
    hits = [h for h in rk.search(QUESTION) if h.score >= rk.settings.retrieve.min_score]
    reserve = rk.settings.llm.max_tokens + (params.reasoning_budget or 0) + 16
    prompt = build_prompt(QUESTION, hits, llm.count_tokens, llm.n_ctx - reserve)
    text, stop = llm.render(prompt.messages, params)  # type: ignore[attr-defined]
    with _quiet_stderr():
        bare = Llama(model_path=str(llm.path), n_ctx=llm.n_ctx, seed=0, verbose=False)  # type: ignore[attr-defined]
    tokens = bare.tokenize(text.encode(), add_bos=False, special=True)

    def bare_run(max_tokens: int) -> tuple[int, float]:
        bare.reset()
        count, first = 0, 0.0
        for chunk in bare.create_completion(
            prompt=tokens, stream=True, max_tokens=max_tokens, temperature=params.temperature,
            top_p=params.top_p, repeat_penalty=params.repeat_penalty, seed=params.seed, stop=stop,
        ):  # fmt: skip
            if chunk["choices"][0].get("text"):
                count += 1
                first = first or time.perf_counter()
        return count, time.perf_counter() - first

    # ragkit's path is timed at the same points as the bare loop: its first and last token as
    # they leave llama.cpp. The parser and the repetition guard run between tokens, so their
    # cost is inside the interval (the guard shows text a sentence at a time, which is why
    # the first *event* is not the clock).
    marks: list[float] = []
    pieces = llm._pieces  # type: ignore[attr-defined]

    def timed_pieces(*a, **kw):  # type: ignore[no-untyped-def]
        for piece in pieces(*a, **kw):
            marks.append(time.perf_counter())
            yield piece

    llm._pieces = timed_pieces  # type: ignore[method-assign]

    def ragkit_run() -> tuple[int, float]:
        llm.reset_cache()
        marks.clear()
        result = None
        for item in rk.ask_stream(QUESTION, model=args.model):
            if isinstance(item, Answer):
                result = item
        assert result is not None
        return len(marks), marks[-1] - marks[0]

    bare_rates, ours_rates, ours_tokens = [], [], []
    for _ in range(args.trials):  # interleaved, so drift in machine load hits both alike
        n, seconds = ragkit_run()
        ours_rates.append((n - 1) / seconds)
        ours_tokens.append(n)
        # the same number of tokens (the guard may stop ragkit early; later tokens are slower)
        n, seconds = bare_run(n)
        bare_rates.append((n - 1) / seconds)
    bare_rate, ours_rate = statistics.median(bare_rates), statistics.median(ours_rates)
    print("\n1. answer generation speed (same model, prompt and sampling)")
    print(f"   bare llama-cpp-python: {bare_rate:6.1f} tokens/s")
    print(f"   through ragkit:        {ours_rate:6.1f} tokens/s")
    print(f"   (median {statistics.median(ours_tokens)} tokens per answer; the bare run made as many)")
    print(f"   ratio: {ours_rate / bare_rate:.3f}  (target >= 0.95)")

    # --- 2. follow-up time to first token ---------------------------------------------
    conversation = Conversation()
    rk.ask(QUESTION, model=args.model, conversation=conversation)

    def follow_up(cached: bool) -> float:
        branch = copy.deepcopy(conversation)
        if not cached:
            llm.reset_cache()
        marks.clear()
        started = time.perf_counter()
        for _ in rk.ask_stream(FOLLOW_UP, model=args.model, conversation=branch):
            pass
        return marks[0] - started

    warm, cold = [], []
    for _ in range(args.trials):
        rk.ask(QUESTION, model=args.model, conversation=Conversation())  # the cache: the first turn
        warm.append(follow_up(True))
        cold.append(follow_up(False))
    warm_s, cold_s = statistics.median(warm), statistics.median(cold)
    print("\n2. follow-up question, time to first token")
    print(f"   without the prompt cache: {cold_s:.3f} s")
    print(f"   with the prompt cache:    {warm_s:.3f} s")
    print(f"   ratio: {warm_s / cold_s:.3f} of the uncached time ({cold_s / warm_s:.1f}x faster)")
    rk.close()


if __name__ == "__main__":
    main()
