"""The item tower's consumers table (graph.py)."""

from __future__ import annotations

import os

import numpy as np
import torch

from recstream_models.config import TrainConfig
from recstream_models.data import holdout_split, load_dataset
from recstream_models.engine import run
from recstream_models.evaluate import item_embeddings
from recstream_models.graph import latest_consumers
from recstream_models.previous import load_previous
from recstream_models.runtime import start
from recstream_models.towers import TwoTower
from recstream_models.train import train_retrieval

FAST = {"epochs": 2, "ranker_epochs": 1, "dim": 16, "refit": False, "threads": 2, "graph_consumers": 4}


def test_each_item_keeps_its_latest_consumers_newest_first() -> None:
    users = torch.tensor([1, 2, 3, 4, 5, 6])
    items = torch.tensor([2, 2, 2, 1, 2, 0])
    ts = torch.tensor([10, 40, 30, 5, 20, 50])
    table = latest_consumers(users, items, ts, item_rows=3, width=3)
    assert table.tolist() == [[0, 0, 0], [4, 0, 0], [2, 3, 5]]


def test_the_consumers_come_from_the_training_rows_only(synthetic: str) -> None:
    """The holdout's users of an item are not its consumers: an evaluated model never sees them."""
    dataset = load_dataset(synthetic)
    config = TrainConfig.from_json(FAST)
    train_rows, holdout_rows = holdout_split(dataset, config.holdout_fraction)
    model = TwoTower.from_config(dataset, config)
    train_retrieval(model, dataset, train_rows, config, start(config), "test")
    columns = dataset.columns
    trained = {(int(u), int(i)) for u, i, p in zip(columns["user"][train_rows], columns["item"][train_rows], columns["positive"][train_rows]) if p}
    table = model.items.consumers
    pairs = {(int(u), item) for item in range(table.shape[0]) for u in table[item].tolist() if u > 0}
    assert pairs and pairs <= trained
    held_only = {(int(u), int(i)) for u, i in zip(columns["user"][holdout_rows], columns["item"][holdout_rows])} - trained
    assert not pairs & held_only


def test_the_smoothed_model_exports_and_loads_back_with_its_consumers(synthetic: str, tmp_path) -> None:
    out = str(tmp_path / "graph")
    run(synthetic, out, TrainConfig.from_json(FAST), None)
    previous = load_previous(out)
    assert previous.model.items.consumers.shape[1] == 4
    assert int((previous.model.items.consumers > 0).sum()) > 0
    exported = np.load(os.path.join(out, "item_embeddings.npy"))
    dataset = load_dataset(synthetic)
    recomputed = item_embeddings(previous.model, dataset.catalog, torch.device("cpu")).numpy()
    np.testing.assert_allclose(recomputed, exported, atol=1e-5)

