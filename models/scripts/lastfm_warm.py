"""Warm start against full retrain on a graph-CF split (Last.fm), through the engine's whole run.

    /usr/bin/python3 models/scripts/lastfm_warm.py /work/shared/data/lastfm
    /usr/bin/python3 models/scripts/lastfm_warm.py /work/shared/data/lastfm '{}' '{"warm_start": true, "warm_start_epochs": 10}'

The files carry no timestamps, only each user's artists in order, so every user's events are laid on
one shared timeline (the k-th of a user's n events at time k / n): the earlier `--share` (0.8) of the
training events by time are then each user's first 80 %. A "promoted" model is trained on those
alone, over their own vocabularies (users and artists seen by then, in another order than the full
set's), with the engine's defaults (automatic epochs on its holdout, then refit on everything). The
next round trains on all of train.txt + valid.txt with `--previous` the promoted model, once per
configuration given (default: a full retrain, then a warm start), each a process-free `engine.run`
timed by the wall clock. Every model, the promoted one too, is scored as `lastfm_check.py` scores:
test.txt, every item ranked, Recall@20. One JSON line per model.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from lastfm_check import read, score, test_queries, write_training_set  # noqa: E402
from recstream_models.config import TrainConfig  # noqa: E402
from recstream_models.data import Dataset, load_dataset  # noqa: E402
from recstream_models.engine import run  # noqa: E402
from recstream_models.evaluate import model_retrieval_metrics  # noqa: E402
from recstream_models.previous import load_previous, previous_vectors  # noqa: E402

import torch  # noqa: E402  (after recstream_models, which sets the OpenMP wait policy torch reads on load)

TIMELINE = 1_000_000_000
"""A user's n events lie at k · TIMELINE / n, k = 0 … n-1."""


def write_set(out: str, train: dict[str, list[str]], users: list[str], items: list[str], lengths: dict[str, int]) -> None:
    """`lastfm_check`'s training set, each user's events at their times on the shared timeline, where
    `lengths` are the users' event counts in the whole set (an earlier set keeps the times it had)."""
    write_training_set(out, train, users, items)
    ts = np.concatenate([np.arange(len(listened), dtype=np.int64) * TIMELINE // lengths[user] for user, listened in train.items()])
    np.save(os.path.join(out, "ts.npy"), ts)


def earlier(train: dict[str, list[str]], share: float) -> dict[str, list[str]]:
    """The events before `share` of the timeline: each user's first `share` of their events."""
    cut = int(share * TIMELINE)
    kept = {user: [item for k, item in enumerate(listened) if k * TIMELINE // len(listened) < cut] for user, listened in train.items()}
    return {user: listened for user, listened in kept.items() if listened}


def trained(dataset_dir: str, out: str, overrides: dict, previous: str | None) -> dict:
    config = TrainConfig.from_json({"step_every": 100_000, **overrides})
    started = time.perf_counter()
    run(dataset_dir, out, config, previous)
    seconds = time.perf_counter() - started
    with open(os.path.join(out, "params.json"), encoding="utf-8") as handle:
        params = json.load(handle)
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as handle:
        metrics = json.load(handle)
    carried = params.get("warm_start_from", {}).get("rows", {})
    return {
        "config": overrides,
        "seconds": round(seconds, 1),
        "retrieval_epochs": params["retrieval_epochs"],
        "epoch_seconds": round(metrics["epoch_seconds"], 2),
        "holdout_examples": int(metrics["holdout_examples"]),
        "holdout_recall_at_20": round(metrics.get("recall_at_20", 0.0), 4),
        **({"carried": {name: carried[name] for name in ("items.item_id", "users.user_id")}} if carried else {}),
        **({"warm_start_error": params["warm_start_error"]} if "warm_start_error" in params else {}),
    }


def main(folder: str, configs: list[dict], share: float) -> None:
    train = read(os.path.join(folder, "train.txt"))
    for user, items in read(os.path.join(folder, "valid.txt")).items():
        train.setdefault(user, []).extend(items)
    test = read(os.path.join(folder, "test.txt"))
    before = earlier(train, share)
    with tempfile.TemporaryDirectory(prefix="lastfm-warm-") as work:
        first, full = os.path.join(work, "earlier"), os.path.join(work, "full")
        os.makedirs(first)
        os.makedirs(full)
        lengths = {user: len(listened) for user, listened in train.items()}
        write_set(first, before, sorted(before), sorted({i for v in before.values() for i in v}), lengths)
        write_set(full, train, sorted({*train, *test}), sorted({i for v in [*train.values(), *test.values()] for i in v}), lengths)
        dataset = load_dataset(full)
        columns, queries = test_queries(dataset, train, test)
        promoted = os.path.join(work, "promoted")
        result = trained(first, promoted, {}, None)
        old = load_previous(promoted)
        user_vectors, item_vectors = previous_vectors(
            old, Dataset(manifest=dataset.manifest, columns=columns, catalog=dataset.catalog), queries
        )
        recall = model_retrieval_metrics(user_vectors, item_vectors, queries, (20,))["recall_at_20"]
        examples = {"examples": dataset.examples, "promoted_examples": load_dataset(first).examples}
        print(json.dumps({"event": "promoted", "share": share, **examples, **result, "test_recall_at_20": round(recall, 4)}), flush=True)
        for k, overrides in enumerate(configs or [{}, {"warm_start": True}]):
            out = os.path.join(work, f"next-{k}")
            result = trained(full, out, overrides, promoted)
            metrics = score(load_previous(out).model, dataset, columns, queries, torch.device("cpu"))
            print(json.dumps({"event": "retrain", **result, "test_recall_at_20": round(metrics["recall_at_20"], 4)}), flush=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    fraction = 0.8
    if "--share" in arguments:
        at = arguments.index("--share")
        fraction = float(arguments[at + 1])
        del arguments[at : at + 2]
    main(arguments[0], [json.loads(a) for a in arguments[1:]], fraction)
