"""Trains the engine on the Last.fm split directly (no pipeline) and scores test.txt.

    /usr/bin/python3 models/scripts/lastfm_check.py /work/shared/data/lastfm
    /usr/bin/python3 models/scripts/lastfm_check.py /work/shared/data/lastfm --curve '{"loss": "cosine_contrastive"}' '{"epochs": 10}'
    /usr/bin/python3 models/scripts/lastfm_check.py /work/shared/data/ml-1m --history 50 '{"epochs": 10}'

Each listened artist of train.txt + valid.txt becomes one positive example (event
time increasing in file order) whose history is the user's previous (up to 20)
artists (--history N: N), most recent first; the other categorical columns are 0 and the numbers
zeros. The protocol is the graph-CF one: each test user is queried with their
state after their last training event (history = their latest 20 artists),
every item they have no training interaction with is ranked, Recall@20 =
hits / |test items|. One JSON line per configuration given (none: the defaults);
with --curve also Recall@20 and NDCG@20 after every epoch (timings then include them).
A check of engine settings beside `recstream bench quality`, which goes through
the whole pipeline; any folder in the same layout works (MovieLens-1M's too).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from recstream_models.config import TrainConfig  # noqa: E402
from recstream_models.data import FORMAT, Dataset, load_dataset  # noqa: E402
from recstream_models.evaluate import Queries, item_embeddings, model_retrieval_metrics, user_embeddings  # noqa: E402
from recstream_models.runtime import seed_everything, start  # noqa: E402
from recstream_models.synth import CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, TYPES, USER_DENSE  # noqa: E402
from recstream_models.towers import TwoTower  # noqa: E402
from recstream_models.train import train_retrieval  # noqa: E402

import torch  # noqa: E402  (after recstream_models, which sets the OpenMP wait policy torch reads on load)

HISTORY = 20
CLICK = TYPES.index("click")


def read(path: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if parts:
                out.setdefault(parts[0], []).extend(parts[1:])
    return out


def write_training_set(out: str, train: dict[str, list[str]], users: list[str], items: list[str]) -> None:
    u_index = {u: k + 1 for k, u in enumerate(users)}
    i_index = {i: k + 1 for k, i in enumerate(items)}
    user_rows, item_rows, histories = [], [], []
    for user, listened in train.items():
        history: list[int] = []
        for item in listened:
            user_rows.append(u_index[user])
            item_rows.append(i_index[item])
            histories.append(history[:HISTORY])
            history.insert(0, i_index[item])
    n = len(user_rows)
    columns: dict = {}
    catalog: dict = {}

    def save(name: str, array: np.ndarray, into: dict) -> None:
        np.save(os.path.join(out, f"{name}.npy"), array)
        into[name] = {"file": f"{name}.npy", "dtype": str(array.dtype), "shape": list(array.shape)}

    history_rows = np.zeros((n, HISTORY), dtype=np.int64)
    for r, h in enumerate(histories):
        history_rows[r, : len(h)] = h
    save("user", np.array(user_rows, dtype=np.int64), columns)
    save("item", np.array(item_rows, dtype=np.int64), columns)
    save("ts", np.arange(n, dtype=np.int64), columns)
    save("type", np.full(n, CLICK, dtype=np.int64), columns)
    save("label", np.ones(n, dtype=np.float32), columns)
    save("positive", np.ones(n, dtype=np.uint8), columns)
    save("weight", np.ones(n, dtype=np.float32), columns)
    save("clicked", np.full(n, -1, dtype=np.int8), columns)
    save("engagement", np.full(n, np.nan, dtype=np.float32), columns)
    save("history_items", history_rows, columns)
    save("history_types", np.where(history_rows > 0, CLICK, 0).astype(np.int64), columns)
    save("user_cat", np.zeros((n, 3), dtype=np.int64), columns)
    save("context_cat", np.zeros((n, 4), dtype=np.int64), columns)
    save("user_dense", np.zeros((n, len(USER_DENSE)), dtype=np.float32), columns)
    save("item_categories", np.zeros((n, 4), dtype=np.int64), columns)
    save("item_language", np.zeros(n, dtype=np.int64), columns)
    save("item_dense", np.zeros((n, len(ITEM_DENSE)), dtype=np.float32), columns)
    save("cross_dense", np.zeros((n, len(CROSS_DENSE)), dtype=np.float32), columns)
    m = len(items) + 1
    save("catalog_categories", np.zeros((m, 4), dtype=np.int64), catalog)
    save("catalog_tags", np.zeros((m, 4), dtype=np.int64), catalog)
    save("catalog_language", np.zeros(m, dtype=np.int64), catalog)
    save("catalog_dense", np.zeros((m, len(CATALOG_DENSE)), dtype=np.float32), catalog)
    save("catalog_available", np.ones(m, dtype=np.uint8), catalog)
    one = ["<unk>"]
    manifest = {
        "format": FORMAT, "examples": n, "history_length": HISTORY, "max_categories": 4, "max_tags": 4,
        "vocabularies": {"user": ["<unk>", *users], "item": ["<unk>", *items], "category": ["<pad>"], "tag": ["<pad>"],
                         "language": one, "country": one, "device": one, "surface": one, "age_bucket": one, "type": TYPES},
        "dense": {"user_dense": USER_DENSE, "item_dense": ITEM_DENSE, "cross_dense": CROSS_DENSE, "catalog_dense": CATALOG_DENSE},
        "columns": columns, "catalog_columns": catalog, "lineage": {},
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)


def test_queries(dataset: Dataset, train: dict[str, list[str]], test: dict[str, list[str]]) -> tuple[dict, Queries]:
    """Each test user's state after their last training event, and their test items not seen in training."""
    vocab = dataset.manifest["vocabularies"]
    u_index = {u: k for k, u in enumerate(vocab["user"])}
    i_index = {i: k for k, i in enumerate(vocab["item"])}
    chosen, relevant, seen = [], [], []
    for user in sorted(test):
        trained = {i_index[i] for i in train.get(user, ())}
        wanted = {i_index[i] for i in test[user]} - trained
        if user in train and wanted:
            chosen.append(user)
            relevant.append(torch.tensor(sorted(wanted)))
            seen.append(torch.tensor(sorted(trained)))
    q = len(chosen)
    history = np.zeros((q, HISTORY), dtype=np.int64)
    for k, user in enumerate(chosen):
        latest = [i_index[i] for i in reversed(train[user][-HISTORY:])]
        history[k, : len(latest)] = latest
    columns = {
        "user": torch.tensor([u_index[u] for u in chosen]),
        "history_items": torch.from_numpy(history),
        "history_types": torch.from_numpy(np.where(history > 0, CLICK, 0).astype(np.int64)),
        "user_cat": torch.zeros(q, 3, dtype=torch.long),
        "context_cat": torch.zeros(q, 4, dtype=torch.long),
        "user_dense": torch.zeros(q, len(USER_DENSE)),
    }
    return columns, Queries(rows=torch.arange(q), relevant=relevant, seen=seen)


def score(model: TwoTower, dataset: Dataset, columns: dict, queries: Queries, device: torch.device) -> dict[str, float]:
    model.eval()
    users = user_embeddings(model, columns, queries.rows, device)
    items = item_embeddings(model, dataset.catalog, device)
    return model_retrieval_metrics(users, items, queries, (20,))


def check(dataset: Dataset, columns: dict, queries: Queries, overrides: dict, curve: bool) -> dict:
    config = TrainConfig.from_json({"holdout_fraction": 0.0, "step_every": 100_000, **overrides})
    runtime = start(config)
    seed_everything(config.seed)
    model = TwoTower.from_config(dataset, config)

    def after_epoch(epoch: int) -> bool:
        metrics = score(model, dataset, columns, queries, runtime.device)
        print(json.dumps({"event": "lastfm_epoch", "epoch": epoch, **{k: round(v, 4) for k, v in metrics.items()}}), flush=True)
        return False

    started = time.perf_counter()
    rows = torch.arange(dataset.examples)
    stats = train_retrieval(model, dataset, rows, config, runtime, "lastfm", after_epoch if curve else None)
    seconds = time.perf_counter() - started
    metrics = score(model, dataset, columns, queries, runtime.device)
    return {
        "config": overrides,
        "history": HISTORY,
        "users": len(queries.relevant),
        "recall_at_20": round(metrics["recall_at_20"], 4),
        "ndcg_at_20": round(metrics["ndcg_at_20"], 4),
        "epochs": len(stats),
        "train_seconds": round(seconds, 1),
    }


def main(folder: str, configs: list[dict], curve: bool) -> None:
    train = read(os.path.join(folder, "train.txt"))
    for user, items in read(os.path.join(folder, "valid.txt")).items():
        train.setdefault(user, []).extend(items)
    test = read(os.path.join(folder, "test.txt"))
    users = sorted({*train, *test})
    items = sorted({i for v in [*train.values(), *test.values()] for i in v})
    with tempfile.TemporaryDirectory(prefix="lastfm-") as out:
        write_training_set(out, train, users, items)
        dataset = load_dataset(out)
        columns, queries = test_queries(dataset, train, test)
        for overrides in configs or [{}]:
            result = check(dataset, columns, queries, overrides, curve)
            print(json.dumps({"event": "lastfm", **result}), flush=True)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if a != "--curve"]
    if "--history" in arguments:
        at = arguments.index("--history")
        HISTORY = int(arguments[at + 1])
        del arguments[at : at + 2]
    main(arguments[0], [json.loads(a) for a in arguments[1:]], curve="--curve" in sys.argv)
