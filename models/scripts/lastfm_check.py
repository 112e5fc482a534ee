"""Trains the engine on the Last.fm split directly (no pipeline) and scores test.txt.

    /usr/bin/python3 models/scripts/lastfm_check.py ../shared/data/lastfm '{"loss": "sampled_softmax"}'

Each listened artist of train.txt + valid.txt becomes one positive example whose
history is the user's previous (up to 20) artists in file order; the protocol
is the graph-CF one: every item the user has no training interaction with is
ranked, Recall@20 = hits / |test items|. A quick check of engine settings,
beside `recstream bench quality`, which goes through the whole pipeline.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from recstream_models.config import TrainConfig  # noqa: E402
from recstream_models.data import FORMAT, load_dataset  # noqa: E402
from recstream_models.evaluate import Queries, item_embeddings, model_retrieval_metrics, user_embeddings  # noqa: E402
from recstream_models.runtime import start  # noqa: E402
from recstream_models.synth import CATALOG_DENSE, CROSS_DENSE, ITEM_DENSE, TYPES, USER_DENSE  # noqa: E402
from recstream_models.train import train_retrieval  # noqa: E402
from recstream_models.towers import TwoTower  # noqa: E402


def read(path: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.split()
            if parts:
                out.setdefault(parts[0], []).extend(parts[1:])
    return out


def main(folder: str, overrides: dict) -> None:
    train = read(os.path.join(folder, "train.txt"))
    for user, items in read(os.path.join(folder, "valid.txt")).items():
        train.setdefault(user, []).extend(items)
    test = read(os.path.join(folder, "test.txt"))
    users = sorted({*train, *test})
    items = sorted({i for v in [*train.values(), *test.values()] for i in v})
    u_index = {u: k + 1 for k, u in enumerate(users)}
    i_index = {i: k + 1 for k, i in enumerate(items)}
    rows = []
    for user, listened in train.items():
        history: list[int] = []
        for item in listened:
            rows.append((u_index[user], i_index[item], list(history[:20])))
            history.insert(0, i_index[item])
    n = len(rows)
    out = tempfile.mkdtemp()
    columns = {}

    def save(name: str, array: np.ndarray, into: dict) -> None:
        np.save(os.path.join(out, f"{name}.npy"), array)
        into[name] = {"file": f"{name}.npy", "dtype": str(array.dtype), "shape": list(array.shape)}

    history = np.zeros((n, 20), dtype=np.int64)
    for r, (_, _, h) in enumerate(rows):
        history[r, : len(h)] = h
    save("user", np.array([r[0] for r in rows], dtype=np.int64), columns)
    save("item", np.array([r[1] for r in rows], dtype=np.int64), columns)
    save("ts", np.arange(n, dtype=np.int64), columns)
    save("type", np.full(n, 2, dtype=np.int64), columns)
    save("label", np.ones(n, dtype=np.float32), columns)
    save("positive", np.ones(n, dtype=np.uint8), columns)
    save("weight", np.ones(n, dtype=np.float32), columns)
    save("clicked", np.full(n, -1, dtype=np.int8), columns)
    save("engagement", np.full(n, np.nan, dtype=np.float32), columns)
    save("history_items", history, columns)
    save("history_types", np.where(history > 0, 2, 0).astype(np.int64), columns)
    save("user_cat", np.zeros((n, 3), dtype=np.int64), columns)
    save("context_cat", np.zeros((n, 4), dtype=np.int64), columns)
    save("user_dense", np.zeros((n, len(USER_DENSE)), dtype=np.float32), columns)
    save("item_categories", np.zeros((n, 4), dtype=np.int64), columns)
    save("item_language", np.zeros(n, dtype=np.int64), columns)
    save("item_dense", np.zeros((n, len(ITEM_DENSE)), dtype=np.float32), columns)
    save("cross_dense", np.zeros((n, len(CROSS_DENSE)), dtype=np.float32), columns)
    m = len(items) + 1
    catalog = {}
    save("catalog_categories", np.zeros((m, 4), dtype=np.int64), catalog)
    save("catalog_tags", np.zeros((m, 4), dtype=np.int64), catalog)
    save("catalog_language", np.zeros(m, dtype=np.int64), catalog)
    save("catalog_dense", np.zeros((m, len(CATALOG_DENSE)), dtype=np.float32), catalog)
    save("catalog_available", np.ones(m, dtype=np.uint8), catalog)
    one = ["<unk>"]
    manifest = {
        "format": FORMAT, "examples": n, "history_length": 20, "max_categories": 4, "max_tags": 4,
        "vocabularies": {"user": ["<unk>", *users], "item": ["<unk>", *items], "category": ["<pad>"], "tag": ["<pad>"],
                         "language": one, "country": one, "device": one, "surface": one, "age_bucket": one, "type": TYPES},
        "dense": {"user_dense": USER_DENSE, "item_dense": ITEM_DENSE, "cross_dense": CROSS_DENSE, "catalog_dense": CATALOG_DENSE},
        "columns": columns, "catalog_columns": catalog, "lineage": {},
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    config = TrainConfig.from_json({"holdout_fraction": 0.0, **overrides})
    runtime = start(config)
    dataset = load_dataset(out)
    model = TwoTower(dataset, config.dim, config.temperature)
    train_retrieval(model, dataset, torch.arange(n), config, runtime, "lastfm")
    model.eval()
    # The query is the user's state after their last training event: history = their latest 20 items.
    query_users = [u for u in users if u in test and u in train]
    q_hist = np.zeros((len(query_users), 20), dtype=np.int64)
    for k, u in enumerate(query_users):
        latest = [i_index[i] for i in reversed(train[u][-20:])]
        q_hist[k, : len(latest)] = latest
    q = len(query_users)
    query_columns = {
        "user": torch.tensor([u_index[u] for u in query_users]), "history_items": torch.from_numpy(q_hist),
        "history_types": torch.from_numpy(np.where(q_hist > 0, 2, 0)), "user_cat": torch.zeros(q, 3, dtype=torch.long),
        "context_cat": torch.zeros(q, 4, dtype=torch.long), "user_dense": torch.zeros(q, len(USER_DENSE)),
    }
    vectors = user_embeddings(model, query_columns, torch.arange(q), runtime.device)
    queries = Queries(
        rows=torch.arange(q),
        relevant=[torch.tensor(sorted({i_index[i] for i in test[u]} - {i_index[i] for i in train[u]})) for u in query_users],
        seen=[torch.tensor(sorted({i_index[i] for i in train[u]})) for u in query_users],
    )
    keep = [k for k, r in enumerate(queries.relevant) if len(r) > 0]
    queries = Queries(rows=queries.rows[keep], relevant=[queries.relevant[k] for k in keep], seen=[queries.seen[k] for k in keep])
    metrics = model_retrieval_metrics(vectors[keep], item_embeddings(model, dataset.catalog, runtime.device), queries, (20,))
    print(json.dumps({"users": len(keep), **metrics, "config": overrides}))


if __name__ == "__main__":
    main(sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
