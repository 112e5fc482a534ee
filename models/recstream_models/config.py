"""The one typed configuration of a training run, with defaults and validation."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any


def _typed(name: str, value: object) -> object:
    """A JSON value checked against the field's type (an int where a float is expected is fine)."""
    default = {f.name: f.default for f in dataclasses.fields(TrainConfig)}[name]
    if isinstance(default, tuple):
        if isinstance(value, list) and value and all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in value):
            return tuple(value)
        raise ValueError(f"training setting {name} must be a non-empty list of positive integers, got {value!r}")
    expected = type(default)
    ok = isinstance(value, expected) and (expected is bool or not isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not ok:
        raise ValueError(f"training setting {name} must be {expected.__name__}, got {value!r}")
    return value


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of the engine; ``--config`` JSON keys are these field names."""

    seed: int = 1
    """Seeds Python, NumPy and torch once, at the start."""
    device: str = "auto"
    """auto (CUDA when present, else CPU), cpu or cuda; RECSTREAM_DEVICE overrides the default."""
    threads: int = 0
    """CPU threads for torch; 0 uses every core."""
    dim: int = 64
    """Embedding size of both towers' outputs."""
    epochs: int = 0
    """Retrieval epochs; 0 picks them from the data: at most about 2.5 million positive examples seen in
    all (3 to 30 epochs), stopping once the holdout Recall@20 has not improved for `patience` epochs; the
    model of the best epoch is the one evaluated, and the refit trains that many epochs."""
    patience: int = 10
    """With `epochs` 0: epochs without a better holdout Recall@20 before training stops, at most a third
    of the automatic budget (at least 2). Last.fm's holdout rises in steps with flat stretches of up to
    six epochs between them (patience 5 stopped it at 13 epochs: 0.2771 on its test split instead of
    the 0.2785 of 30)."""
    batch_size: int = 1024
    """Retrieval batch: positives per step, which are also each other's in-batch negatives."""
    lr: float = 0.003
    weight_decay: float = 0.0
    """Decoupled weight decay (AdamW) on dense layers; embeddings get none."""
    embedding_l2: float = 1e-6
    """L2 on the embedding rows a batch touches."""
    loss: str = "sampled_softmax"
    """sampled_softmax (in-batch + uniform negatives, log-Q corrected) or cosine_contrastive (SimpleX)."""
    temperature: float = 0.15
    """Softmax temperature over cosine scores."""
    uniform_negatives: int = 1024
    """Extra negatives per step, drawn uniformly from the catalog and shared by the batch."""
    logq_correction: bool = True
    """Subtract the log of each candidate's sampling probability (in-batch: its popularity)."""
    exposure_correction: float = 0.5
    """sampled_softmax: weight of each item's centred log share of impressions, added to its training
    logit and left out when serving, so retrieval ranks more by what users click once shown an item
    than by how often it is shown. On `bench quality`'s simulated world 0.5 lifts Recall@20 against
    its truth from 0.33 to 0.41; 1.0 reaches 0.45 but its click holdout falls to popularity's, which
    the gate follows. 0 turns it off; a set without impressions (Last.fm, MovieLens) has none."""
    margin: float = 0.4
    """cosine_contrastive: negatives count only above this cosine."""
    negative_weight: float = 1.0
    """cosine_contrastive: weight of the mean negative term."""
    graph_consumers: int = 0
    """Width of each item's latest-consumers table (graph.py): the item tower adds the mean id embedding
    of up to this many of the item's latest consumers in the training rows, one LightGCN-style hop.
    0 turns it off."""
    id_dropout: float = 0.1
    """Share of items whose id embedding is dropped in a step, so the item tower learns from metadata (cold start)."""
    dense_dropout: float = 0.5
    """Share of training rows whose user numbers (counts, recency, session) are hidden from the user
    tower, so it does not lean on them: online they are read hours or days after the last event,
    further out than most training rows ever are."""
    warm_start: bool = False
    """Start the towers from the promoted model's weights (`--previous`) instead of a fresh
    initialisation: every embedding row whose value (user, item, category...) the promoted model's
    vocabularies also have is copied, new values' rows start fresh, and the other layers are copied
    where their shapes match (warm.py); `params.json` says what was carried over (`warm_start_from`).
    The holdout is scored before the first epoch too, so the best epoch may be the start itself.
    Without a promoted model, or one that cannot be read, the run starts fresh and `warm_start_error`
    says why. The ranker and a `tune_trials` search start fresh either way. Off by default: on
    Last.fm it trained in 32 to 41 % of the time to the same test Recall@20 but a lower holdout, and a
    warm-started model cannot be reproduced from its set alone (docs/decisions.md §42)."""
    warm_start_epochs: int = 0
    """With `warm_start`: the retrieval epoch budget of a warm start, instead of `epochs` or the
    automatic budget (with `epochs` 0 it still stops early on the holdout, its patience at most a
    third of this budget); 0 keeps the budget of a fresh start."""
    tune_trials: int = 0
    """0: no search. N: before training, an Optuna search (tune.py) of up to N trials over `temperature`,
    `lr`, `embedding_l2` and `uniform_negatives` on the holdout, each trial with automatic epochs and
    pruned when it falls below the median; the best trial's settings train the model, and every trial is
    recorded in params.json. Needs Optuna (Debian's python3-optuna)."""
    tune_seconds: float = 600.0
    """The search's time bound: no trial starts after it, and a running one stops at its next epoch."""
    ranker_epochs: int = 2
    """Ranker epochs over the exposures (impressions and rows with a known engagement)."""
    ranker_batch_size: int = 512
    ranker_dim: int = 16
    """Size of the ranker's embeddings (and of its bottom MLP's output)."""
    ranker_lr: float = 0.005
    ranker_dropout: float = 0.2
    """Dropout on the ranker's feature vectors before their interactions: its user and item
    embeddings memorise a small set of impressions within two epochs without it."""
    holdout_fraction: float = 0.1
    """The share of the examples held out to evaluate, choose epochs and gate on."""
    holdout: str = "user"
    """user: each user's own latest `holdout_fraction` of their examples; stream: the latest share of
    all examples by event time, which holds out only the users active at the end, so how a data set's
    files are laid out decides the model (Last.fm as one file: Recall@20 0.197 instead of 0.281)."""
    refit: bool = True
    """After evaluating, train again from scratch on every example and export that model."""
    eval_k: tuple[int, ...] = field(default=(10, 20, 50))
    eval_users: int = 5000
    """At most this many holdout users are scored (the first ones by id: deterministic)."""
    step_every: int = 20
    """A progress line every this many steps."""

    def __post_init__(self) -> None:
        if self.loss not in ("sampled_softmax", "cosine_contrastive"):
            raise ValueError(f"loss must be sampled_softmax or cosine_contrastive, got {self.loss!r}")
        if self.holdout not in ("user", "stream"):
            raise ValueError(f"holdout must be user or stream, got {self.holdout!r}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be auto, cpu or cuda, got {self.device!r}")
        if not 0 <= self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in [0, 1), got {self.holdout_fraction}")
        if self.tune_trials < 0 or self.tune_seconds <= 0:
            raise ValueError(f"tune_trials must be 0 or more and tune_seconds positive, got {self.tune_trials}, {self.tune_seconds}")
        if self.warm_start_epochs < 0:
            raise ValueError(f"warm_start_epochs must be 0 or more, got {self.warm_start_epochs}")
        if self.graph_consumers < 0:
            raise ValueError(f"graph_consumers must be 0 or more, got {self.graph_consumers}")
        for name in ("dim", "batch_size", "ranker_batch_size", "ranker_dim", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.exposure_correction < 0:
            raise ValueError(f"exposure_correction must be 0 or more, got {self.exposure_correction}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    @staticmethod
    def from_json(values: dict) -> "TrainConfig":
        """A config from JSON values; an unknown key is an error naming it."""
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        merged: dict[str, Any] = {name: _typed(name, value) for name, value in values.items()}
        if "device" not in merged and os.environ.get("RECSTREAM_DEVICE"):
            merged["device"] = os.environ["RECSTREAM_DEVICE"]
        return TrainConfig(**merged)

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["eval_k"] = list(self.eval_k)
        return out
