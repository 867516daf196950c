"""Pilot (session 10, a negative result): the reader model reading the ranker's first K
candidates in ONE call ("Which sentence states the answer? Reply with its number, or 0"), the
next-token probabilities of "0".."K" as its verdict, against the shipped one-yes/no-per-candidate
reader, on every EVERY-th case of the fitting sets asked in the library.

    python training/pilot_listwise.py 3 4 /tmp/pilot   # K=3, every 4th case, scratch folder

Result (BENCHMARKS.md, "Issue 14: reading three candidates in one call"): no better than the
shipped reader at any threshold, at 2.5x its latency; not used.
"""
import json, math, sys, time, shutil
from dataclasses import replace
from pathlib import Path
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "training")); sys.path.insert(0, str(ROOT / "bench")); sys.path.insert(0, str(ROOT))
import numpy as np
from casesets import Engines, collect
from library import build_library
from qa.config import Settings
from qa.evaluate import holds
from qa.offline.answer_model import AnswerModel
from qa.offline.extractive import choose, judge_pair, answer_sentences
from qa.offline.judge import judge_from_settings, _top_logprobs
import fit_judge as fj

K = int(sys.argv[1]); EVERY = int(sys.argv[2]); WORK = Path(sys.argv[3])
SETS = [ROOT / "eval"/p for p in ["dev.jsonl","heldout.jsonl"]] + \
       [ROOT / "eval" / "other" / f"{b}.jsonl" for b in "b1a1 b2a2 b3a3 b4a4 b5a1 b6a2".split()] + \
       sorted((ROOT / "eval" / "genres").glob("*.jsonl"))
model = AnswerModel.load()
settings = Settings.from_env().with_(judge="local")
judge = judge_from_settings(settings)
work = WORK; lib = work/"library"
if not lib.exists(): build_library(lib)
engines = Engines(work, model, lib)
cases = []
for p in SETS:
    cases += collect(engines, [p])[::EVERY]
cases = [c for c in cases if c.analysis.candidates]
print(len(cases), "cases", sum(c.case.answerable for c in cases), "answerable", file=sys.stderr)
SYSTEM = "You read numbered sentences from documents and pick the one that answers a question. Reply with the number of the sentence that states the answer, or 0 if none of them does."
out = []
t0 = time.time()
shutil.copy(ROOT / "training" / "judge_cache.jsonl", WORK / "jc.jsonl")
shipped = fj.judge_cases(cases, model, judge, model.judge.candidates, WORK / "jc.jsonl")
print("shipped judged", time.time()-t0, file=sys.stderr)
for n, c in enumerate(cases):
    ch = choose(c.analysis, model)
    rows = list(ch.ranked[:K])
    lines = []
    for i, r in enumerate(rows, 1):
        pr = judge_pair(c.analysis.candidates[r])
        lines.append(f"{i}. {pr.sentence}")
    user = f"Question: {c.analysis.question.asked}\n\nSentences:\n" + "\n".join(lines) + \
           f"\n\nWhich sentence states the answer to the question? Reply with its number (1-{len(rows)}), or 0 if none of them does."
    s = time.perf_counter()
    reply = judge._server.handle_chat_completions({"messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}],
        "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": 10, "cache_prompt": True})
    dt = time.perf_counter() - s
    probs = [0.0]*(len(rows)+1)
    for e in _top_logprobs(reply):
        tok = str(e.get("token","")).strip()
        if tok.isdigit() and int(tok) <= len(rows):
            probs[int(tok)] += math.exp(float(e["logprob"]))
    tot = sum(probs) or 1.0
    probs = [p/tot for p in probs]
    right = [bool(c.right[r]) for r in rows]
    out.append({"answerable": c.case.answerable, "probs": probs, "right": right, "conf": ch.confidence,
                "overruled": [bool(ch.overruled[r]) for r in rows], "dt": dt, "ranker_probs": [float(ch.probs[r]) for r in rows]})
    if n % 20 == 0: print(n, round(time.time()-t0), file=sys.stderr)
json.dump(out, open(WORK / f"listwise_k{K}.json", "w"))
# shipped rates on the same cases
base = fj.without_reader(shipped, model)
oc = fj.outcomes(shipped, model, model.judge)
print("off:", base, "shipped reader:", fj._rates(oc, model.judge))
print("median dt", np.median([o["dt"] for o in out]))

# --- the answers/abstention curve of the listwise verdicts ---
A = [o for o in out if o["answerable"]]
U = [o for o in out if not o["answerable"]]
print(len(A), "answerable", len(U), "not")
print("right in first K:", np.mean([any(o["right"]) for o in A]))
print("argmax right when one is:", np.mean([o["right"][int(np.argmax(o["probs"][1:]))] for o in A if any(o["right"])]))
def rates(t, waive, use_rules):
    ans, ref = [], []
    for o in out:
        p = o["probs"]; i = int(np.argmax(p[1:])); conf = p[1+i]
        answered = conf >= t and not (use_rules and o["overruled"][i] and conf < waive)
        if o["answerable"]: ans.append(answered and o["right"][i])
        else: ref.append(not answered)
    return np.mean(ans), np.mean(ref)
for rules in (False, True):
    print("rules" if rules else "no rules")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        a, r = rates(t, 0.9, rules); print(f"  t={t}: answers {a:.1%} abstention {r:.1%}")
