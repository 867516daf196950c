"""The learned part of the offline answerer: a handful of weights over `qa.offline.features`.

Two small linear models, fitted by `training/calibrate.py` on the question sets in `eval/` and kept in
`qa/answer_model.json` (about 130 numbers; no text of any question or source is stored):
- the ranker scores each candidate sentence (a softmax over the candidates of one question);
- the abstainer looks at the winner (its features, its score and probability) and at the kind of
  question (`case_vector`) and gives a confidence; below the threshold the answer is "the sources
  do not answer this question".
Every feature means the same thing for any document, so the weights carry over to new sources;
what they learned is how much each kind of evidence counts, not what this article says.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.errors import ConfigError
from qa.offline.features import FEATURES
from qa.offline.questions import Question

MODEL_FILE = Path(__file__).with_name("answer_model.json")
WH_WORDS = ("what", "which", "who", "when", "where", "why", "how")
CASE_EXTRAS = ("rank_score", "rank_probability", "runner_up_probability", "follow_up", "yes_no",
               "yes_no_x_rest_weakest", "yes_no_x_rest_coverage", "unknown_word_share",
               *(f"asks_{w}" for w in WH_WORDS))
CASE_FEATURES = FEATURES + CASE_EXTRAS


def case_vector(matrix: np.ndarray, scores: np.ndarray, probs: np.ndarray, best: int,
                q: Question, unknown_share: float) -> np.ndarray:
    """What the abstainer sees of a question: the winning sentence's features, how clearly it won,
    and the kind of question (its wh-word, follow-up or yes/no, the share of its words that the
    sources never use)."""
    row = matrix[best]
    yn = float(q.yes_no)
    runner_up = float(np.sort(probs)[-2]) if len(probs) > 1 else 0.0
    words = set(q.asked.lower().replace("?", " ").split())
    return np.concatenate([row, [
        float(scores[best]), float(probs[best]), runner_up, float(q.follow_up), yn,
        yn * row[FEATURES.index("rest_weakest")], yn * row[FEATURES.index("rest_coverage")],
        unknown_share, *(float(w in words) for w in WH_WORDS)]])


@dataclass(frozen=True)
class JudgeWeights:
    """How the reader model's verdicts enter the decision (`qa.offline.extractive.judged`), fitted
    by `training/fit_judge.py` on question sets over many documents."""

    candidates: int  # how many of the ranker's first candidates the judge reads
    rank_weight: float  # weight of the judge's log-odds against the ranker's log-probability
    bias: float  # the answer-or-abstain score: bias + ranker_weight * the ranker's confidence
    ranker_weight: float  # ... + judge_weight * the judge's log-odds for the winner; >= 0 answers
    judge_weight: float
    waive: float  # P(yes) from which the checks on the kind of answer do not overrule
    model: str = ""  # the reader model it was fitted with

    def score(self, ranker_confidence: float, judge_log_odds: float) -> float:
        """The answer-or-abstain score of a winner: >= 0 answers."""
        return self.bias + self.ranker_weight * ranker_confidence + self.judge_weight * judge_log_odds

    def to_json(self) -> dict[str, object]:
        return {k: (round(v, 6) if isinstance(v, float) else v)
                for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class AnswerModel:
    rank_weights: np.ndarray  # (len(FEATURES),)
    abstain_weights: np.ndarray  # (len(CASE_FEATURES) + 1,): standardised inputs, then the bias
    abstain_mean: np.ndarray
    abstain_scale: np.ndarray
    threshold: float  # answer when the abstainer's score is at least this
    second_ratio: float  # add the runner-up when its probability is this close to the winner's
    trained_on: tuple[str, ...] = ()
    judge: JudgeWeights | None = None  # None: never fitted with a reader model

    def rank(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scores, probabilities) of the candidates, rows of `matrix` (see `qa.offline.features`)."""
        scores = matrix @ self.rank_weights
        e = np.exp(scores - scores.max())
        return scores, e / e.sum()

    def confidence(self, case: np.ndarray) -> float:
        """The abstainer's score minus the threshold: >= 0 means answer."""
        z = (case - self.abstain_mean) / self.abstain_scale
        return float(z @ self.abstain_weights[:-1] + self.abstain_weights[-1] - self.threshold)

    # --- the file --------------------------------------------------------------------------------
    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES), "case_features": list(CASE_FEATURES),
            "rank_weights": self.rank_weights.round(6).tolist(),
            "abstain_weights": self.abstain_weights.round(6).tolist(),
            "abstain_mean": self.abstain_mean.round(6).tolist(),
            "abstain_scale": self.abstain_scale.round(6).tolist(),
            "threshold": round(self.threshold, 6), "second_ratio": self.second_ratio,
            "trained_on": list(self.trained_on),
            **({"judge": self.judge.to_json()} if self.judge else {}),
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_FILE) -> AnswerModel:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read the answer model {path}: {exc}; reinstall qa or run "
                              "`python training/calibrate.py --write`") from exc
        if raw.get("features") != list(FEATURES) or raw.get("case_features") != list(CASE_FEATURES):
            raise ConfigError(f"the answer model {path} was fitted for other features; run "
                              "`python training/calibrate.py --write` to refit it")
        return cls(
            rank_weights=np.asarray(raw["rank_weights"], dtype=float),
            abstain_weights=np.asarray(raw["abstain_weights"], dtype=float),
            abstain_mean=np.asarray(raw["abstain_mean"], dtype=float),
            abstain_scale=np.asarray(raw["abstain_scale"], dtype=float),
            threshold=float(raw["threshold"]), second_ratio=float(raw["second_ratio"]),
            trained_on=tuple(raw.get("trained_on", ())),
            judge=JudgeWeights(**raw["judge"]) if raw.get("judge") else None,
        )
