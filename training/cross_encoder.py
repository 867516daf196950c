"""A cross-encoder over the bundled MiniLM: reads a question and a candidate sentence together.

Why: the offline answerer's linear ranker puts a right sentence first for ~45 % of the non-news
fitting questions, though one is in its shortlist for ~88 % (training/diagnose_recall.py). Its
features compare the question and the sentence each embedded alone, or word by word; a model that
attends across both at once can read "When does the backup job run?" against "The backup job runs
every night at 01:30".

The model: the bundled all-MiniLM-L6-v2 on "[CLS] question [SEP] sentence [SEP]" (the sentence
with token type 1); its lower `FROZEN` layers as shipped, its top layers fine-tuned, then mean
pooling and one linear unit: a score per (question, sentence). Only the fine-tuned top layers and
the unit are trained and kept, so the lower layers' states of every pair are computed once and
reused by every epoch and fold.

Trained on the shortlists of the fitting sets asked in the library (training/casesets.py): a
listwise loss (the softmax over one question's candidates puts its mass on the right ones) plus a
pointwise one (sigmoid: is this sentence right?), which keeps scores comparable across questions
for the abstainer.

    python training/ranker_variants.py $SETS --cache /tmp/cases.pkl ...   # collects the cases
    python training/cross_encoder.py /tmp/cases.pkl --cv 4 --out /tmp/oof.npz  # out-of-fold scores
    python training/ranker_variants.py $SETS --cache /tmp/cases.pkl --cross-scores /tmp/oof.npz

Measured (BENCHMARKS.md, sessions 12 and 13): not better than the shipped ranker, with 480 or
with 1,760 non-news fitting questions, so nothing of it ships; `--write` keeps the fitted top
layers for a later try.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "training"))

from casesets import read_cache  # noqa: E402

from qa.store.embed import bundled_model_path  # noqa: E402

FROZEN = 4
LAYERS = 6
HEADS = 12
DIM = 384
MAX_PAIR_TOKENS = 96
TRAIN_NEGATIVES = 7  # per question: the shipped ranker's hardest wrong candidates
EPOCHS = 2
QUESTIONS_PER_STEP = 8
LR = 5e-5
HEAD_LR = 1e-3
POINTWISE = 0.5


def pair_texts(case, docs=None) -> list[tuple[str, str]]:
    """(question, sentence) per candidate; with `docs` (ranker_variants.Documents) the sentence
    is read under its document's title and section heading: "title / heading: sentence"."""
    asked = case.analysis.question.asked
    if docs is None:
        return [(asked, c.resolved) for c in case.analysis.candidates]
    return [(asked, docs.read_under(c)) for c in case.analysis.candidates]


class Weights:
    def __init__(self) -> None:
        from safetensors.torch import load_file

        self.w = load_file(str(bundled_model_path() / "model.safetensors"))

    def layer(self, i: int) -> dict[str, torch.Tensor]:
        p = f"encoder.layer.{i}."
        return {k[len(p):]: v for k, v in self.w.items() if k.startswith(p)}


def _ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return nn.functional.layer_norm(x, (DIM,), w, b, eps=1e-12)


class Layer(nn.Module):
    """One BERT layer, the same arithmetic as qa.store.embed's NumPy forward."""

    def __init__(self, params: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.p = nn.ParameterDict({k.replace(".", "_"): nn.Parameter(v.clone().float())
                                   for k, v in params.items()})

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        p = self.p
        n, t, _ = x.shape
        hd = DIM // HEADS

        def heads(y: torch.Tensor) -> torch.Tensor:
            return y.view(n, t, HEADS, hd).transpose(1, 2)

        q = heads(x @ p["attention_self_query_weight"].T + p["attention_self_query_bias"])
        k = heads(x @ p["attention_self_key_weight"].T + p["attention_self_key_bias"])
        v = heads(x @ p["attention_self_value_weight"].T + p["attention_self_value_bias"])
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(n, t, DIM)
        x = _ln(ctx @ p["attention_output_dense_weight"].T + p["attention_output_dense_bias"] + x,
                p["attention_output_LayerNorm_weight"], p["attention_output_LayerNorm_bias"])
        h = nn.functional.gelu(x @ p["intermediate_dense_weight"].T + p["intermediate_dense_bias"])
        return _ln(h @ p["output_dense_weight"].T + p["output_dense_bias"] + x,
                   p["output_LayerNorm_weight"], p["output_LayerNorm_bias"])


class Lower(nn.Module):
    def __init__(self, weights: Weights, frozen: int) -> None:
        super().__init__()
        w = weights.w
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.types = w["embeddings.token_type_embeddings.weight"]
        self.ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = nn.ModuleList([Layer(weights.layer(i)) for i in range(frozen)])

    @torch.no_grad()
    def forward(self, ids: torch.Tensor, types: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        x = _ln(self.word[ids] + self.pos[:t] + self.types[types], *self.ln)
        for layer in self.layers:
            x = layer(x, bias)
        return x


class Top(nn.Module):
    def __init__(self, weights: Weights, frozen: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList([Layer(weights.layer(i)) for i in range(frozen, LAYERS)])
        self.head = nn.Linear(DIM, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for layer in self.layers:
            x = layer(x, bias)
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return self.head(pooled).squeeze(-1)


def tokenizer():
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(MAX_PAIR_TOKENS)
    return tok


def lower_states(pairs: list[tuple[str, str]], weights: Weights,
                 frozen: int) -> list[torch.Tensor]:
    """The frozen layers' output for every pair, fp16, in the order given."""
    tok = tokenizer()
    enc = tok.encode_batch(pairs)
    lower = Lower(weights, frozen)
    out: list[torch.Tensor | None] = [None] * len(pairs)
    order = sorted(range(len(pairs)), key=lambda i: len(enc[i].ids))
    start = time.time()
    for b in range(0, len(order), 64):
        idx = order[b:b + 64]
        ids, types, mask = _pad([enc[i].ids for i in idx], [enc[i].type_ids for i in idx])
        x = lower(ids, types, ((1.0 - mask) * -1e9)[:, None, None, :])
        for j, i in enumerate(idx):
            out[i] = x[j, :int(mask[j].sum())].half()
        if b % 6400 == 0:
            print(f"  lower states {b}/{len(order)} {time.time() - start:.0f}s", flush=True)
    return out  # type: ignore[return-value]


def _pad(ids: list[list[int]], types: list[list[int]]):
    t = max(len(s) for s in ids)
    a = torch.zeros(len(ids), t, dtype=torch.long)
    b = torch.zeros(len(ids), t, dtype=torch.long)
    m = torch.zeros(len(ids), t)
    for i, (s, y) in enumerate(zip(ids, types, strict=True)):
        a[i, :len(s)] = torch.tensor(s)
        b[i, :len(y)] = torch.tensor(y)
        m[i, :len(s)] = 1.0
    return a, b, m


def _stack(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(s) for s in states)
    x = torch.zeros(len(states), t, DIM)
    m = torch.zeros(len(states), t)
    for i, s in enumerate(states):
        x[i, :len(s)] = s.float()
        m[i, :len(s)] = 1.0
    return x, m


def train(groups: list[tuple[list[torch.Tensor], np.ndarray]], weights: Weights,
          frozen: int, seed: int = 0) -> Top:
    """`groups`: per question, the lower states of its training candidates and which are right."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    top = Top(weights, frozen)
    opt = torch.optim.AdamW([
        {"params": top.layers.parameters(), "lr": LR, "weight_decay": 0.01},
        {"params": top.head.parameters(), "lr": HEAD_LR, "weight_decay": 0.0}])
    steps = EPOCHS * math.ceil(len(groups) / QUESTIONS_PER_STEP)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    top.train()
    start, step = time.time(), 0
    for epoch in range(EPOCHS):
        order = rng.permutation(len(groups))
        for b in range(0, len(order), QUESTIONS_PER_STEP):
            chosen = [groups[i] for i in order[b:b + QUESTIONS_PER_STEP]]
            states = [s for g, _ in chosen for s in g]
            x, m = _stack(states)
            scores = top(x, m)
            loss, at = torch.zeros(()), 0
            labels = []
            for g, right in chosen:
                s = scores[at:at + len(g)]
                at += len(g)
                r = torch.tensor(right, dtype=torch.bool)
                labels.append(r.float())
                if r.any():
                    loss = loss - (torch.logsumexp(s[r], 0) - torch.logsumexp(s, 0))
            loss = loss / len(chosen) + POINTWISE * nn.functional.binary_cross_entropy_with_logits(
                scores, torch.cat(labels))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0:
                print(f"  epoch {epoch} step {step}/{steps} loss {loss.item():.3f} "
                      f"{time.time() - start:.0f}s", flush=True)
    top.eval()
    return top


@torch.no_grad()
def score(top: Top, states: list[torch.Tensor]) -> np.ndarray:
    out = np.zeros(len(states), dtype=np.float32)
    order = sorted(range(len(states)), key=lambda i: len(states[i]))
    for b in range(0, len(order), 128):
        idx = order[b:b + 128]
        x, m = _stack([states[i] for i in idx])
        out[idx] = top(x, m).numpy()
    return out


def training_groups(cases, states_of, case_ids, negatives: int) -> list:
    from qa.offline.answer_model import AnswerModel

    shipped = AnswerModel.load()
    groups = []
    for i in case_ids:
        c = cases[i]
        if not c.analysis.candidates:
            continue
        s, _ = shipped.rank(c.analysis.matrix)
        wrong = [j for j in np.argsort(-s) if not c.right[j]][:negatives]
        keep = sorted([int(j) for j in np.flatnonzero(c.right)] + [int(j) for j in wrong])
        groups.append(([states_of[i][j] for j in keep], c.right[keep]))
    return groups


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", type=Path, help="pickle of (set paths, cases) from casesets.collect")
    ap.add_argument("--cv", type=int, default=0, help="folds: set i in fold i mod N")
    ap.add_argument("--out", type=Path, help="with --cv: out-of-fold scores, per case")
    ap.add_argument("--only-fold", type=int, default=None,
                    help="with --cv: train and score this fold only (the others' scores are empty)")
    ap.add_argument("--write", type=Path, help="fit on all cases, save the top layers here")
    ap.add_argument("--frozen", type=int, default=FROZEN, help="lower layers kept as shipped")
    ap.add_argument("--negatives", type=int, default=TRAIN_NEGATIVES,
                    help="wrong candidates per question to train on")
    ap.add_argument("--context", type=Path, default=None, metavar="LIBRARY",
                    help="read each sentence under its title and heading (the library folder)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    docs = None
    if args.context:
        from ranker_variants import Documents

        docs = Documents(args.context)
    sets, cases = read_cache(args.cases)
    weights = Weights()
    pairs, owner = [], []
    for i, c in enumerate(cases):
        for p in pair_texts(c, docs):
            pairs.append(p)
            owner.append(i)
    print(f"{len(cases)} cases, {len(pairs)} pairs")
    flat = lower_states(pairs, weights, args.frozen)
    states_of: list[list[torch.Tensor]] = [[] for _ in cases]
    for i, s in zip(owner, flat, strict=True):
        states_of[i].append(s)
    if args.cv:
        scores: list[np.ndarray | None] = [None] * len(cases)
        for fold in range(args.cv):
            if args.only_fold is not None and fold != args.only_fold:
                continue
            held = set(sets[fold::args.cv])
            fit_on = [i for i, c in enumerate(cases) if c.source not in held]
            top = train(training_groups(cases, states_of, fit_on, args.negatives), weights,
                        args.frozen)
            for i, c in enumerate(cases):
                if c.source in held:
                    scores[i] = score(top, states_of[i]) if states_of[i] else np.zeros(0)
            print(f"fold {fold} done", flush=True)
        np.savez(args.out, *[np.zeros(0) if s is None else s for s in scores])
    if args.write:
        top = train(training_groups(cases, states_of, range(len(cases)), args.negatives),
                    weights, args.frozen)
        keep = {f"layer{args.frozen + i}.{k}": v.detach().numpy().astype(np.float16)
                for i, layer in enumerate(top.layers) for k, v in layer.p.items()}
        keep["head.weight"] = top.head.weight.detach().numpy()[0].astype(np.float32)
        keep["head.bias"] = top.head.bias.detach().numpy().astype(np.float32)
        np.savez_compressed(args.write, **keep)
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
