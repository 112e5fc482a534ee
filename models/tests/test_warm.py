"""Warm starts: the promoted model's weights carried into a model over changed vocabularies, by value."""

from __future__ import annotations

import copy
import json
import os

import pytest
import torch

from recstream_models.config import TrainConfig
from recstream_models.data import Dataset, load_dataset
from recstream_models.engine import run
from recstream_models.previous import PreviousModel
from recstream_models.towers import TwoTower
from recstream_models.warm import warm_start

FAST = {"epochs": 6, "ranker_epochs": 1, "dim": 32, "refit": False, "threads": 2}


def _json(out: str, name: str) -> dict:
    with open(os.path.join(out, name), encoding="utf-8") as handle:
        return json.load(handle)


def _model(manifest: dict, dim: int = 32) -> TwoTower:
    return TwoTower(Dataset(manifest=manifest, columns={}, catalog={}), dim, 0.15)


@pytest.fixture(scope="module")
def promoted(synthetic: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A model trained on the synthetic set's training part, as the promoted model of the next round."""
    out = str(tmp_path_factory.mktemp("promoted") / "out")
    run(synthetic, out, TrainConfig.from_json(FAST), None)
    return out


def test_rows_are_matched_by_value_when_the_vocabularies_are_reordered_and_grown(synthetic: str) -> None:
    old_manifest = load_dataset(synthetic).manifest
    torch.manual_seed(5)
    previous = PreviousModel(_model(old_manifest), old_manifest, {})
    manifest = copy.deepcopy(old_manifest)
    vocabularies = manifest["vocabularies"]
    # A later set: items in another order, twenty gone, thirty new; users the same, plus new ones.
    vocabularies["item"] = ["<unk>", *reversed(vocabularies["item"][21:]), *(f"new-item-{k}" for k in range(30))]
    vocabularies["user"] = [*vocabularies["user"], *(f"new-user-{k}" for k in range(10))]
    torch.manual_seed(6)
    model = _model(manifest)
    fresh = {name: value.detach().clone() for name, value in model.state_dict().items()}
    report = warm_start(model, vocabularies, previous)

    old_items = {value: row for row, value in enumerate(old_manifest["vocabularies"]["item"])}
    for table in ("item_id", "prior_id"):
        weights, old_weights = getattr(model.items, table).weight, getattr(previous.model.items, table).weight
        for row, value in enumerate(vocabularies["item"]):
            expected = old_weights[old_items[value]] if value in old_items else fresh[f"items.{table}.weight"][row]
            assert torch.equal(weights[row], expected), (table, value)
    assert model.users.item_ids is model.items.item_id, "the user tower pools the same, carried, table"
    assert report["rows"]["items.item_id"] == {"carried": len(vocabularies["item"]) - 30, "rows": len(vocabularies["item"])}
    users = len(old_manifest["vocabularies"]["user"])
    assert report["rows"]["users.user_id"] == {"carried": users, "rows": users + 10}
    assert torch.equal(model.users.user_id.weight[:users], previous.model.users.user_id.weight)
    assert torch.equal(model.users.user_id.weight[users:], fresh["users.user_id.weight"][users:])
    assert torch.equal(model.users.mlp[0].weight, previous.model.users.mlp[0].weight)
    assert torch.equal(model.users.context_cat[3].weight, previous.model.users.context_cat[3].weight), "the hour table"
    assert report["fresh"] == [] and report["dense_copied"] > 0


def test_a_model_of_another_width_starts_fresh_and_says_so(synthetic: str) -> None:
    manifest = load_dataset(synthetic).manifest
    previous = PreviousModel(_model(manifest, dim=16), manifest, {})
    model = _model(manifest)
    before = {name: value.detach().clone() for name, value in model.state_dict().items()}
    report = warm_start(model, manifest["vocabularies"], previous)
    assert "items.item_id.weight" in report["fresh"] and "users.mlp.0.weight" in report["fresh"]
    assert torch.equal(model.items.item_id.weight, before["items.item_id.weight"])
    # Only what does not depend on the width carries: the type weights and the item prior's id table.
    assert set(report["rows"]) == {"items.prior_id", "users.type_weight"}


def test_a_warm_start_from_a_model_of_the_same_data_starts_at_its_holdout_recall(
    synthetic: str, promoted: str, tmp_path, capsys
) -> None:
    capsys.readouterr()
    warm = str(tmp_path / "warm")
    config = {**FAST, "epochs": 0, "warm_start": True, "warm_start_epochs": 2}
    run(synthetic, warm, TrainConfig.from_json(config), promoted)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    curve = {e["epoch"]: e["recall_at_20"] for e in events if e["event"] == "holdout"}
    assert curve[0] == pytest.approx(_json(promoted, "metrics.json")["recall_at_20"], abs=1e-6), curve
    carried = _json(warm, "params.json")["warm_start_from"]["rows"]["items.item_id"]
    assert carried["carried"] == carried["rows"]
    cold = str(tmp_path / "cold")
    run(synthetic, cold, TrainConfig.from_json({**FAST, "epochs": 1}), promoted)
    assert _json(warm, "metrics.json")["recall_at_20"] > _json(cold, "metrics.json")["recall_at_20"]


def test_without_a_promoted_model_a_warm_start_trains_fresh_and_says_why(synthetic: str, tmp_path) -> None:
    if torch.cuda.is_available():
        pytest.skip("the same-seed promise is for the CPU")
    one = {**FAST, "epochs": 1}
    cold, fallback = str(tmp_path / "cold"), str(tmp_path / "fallback")
    run(synthetic, cold, TrainConfig.from_json(one), None)
    run(synthetic, fallback, TrainConfig.from_json({**one, "warm_start": True}), None)
    assert "no promoted model" in _json(fallback, "params.json")["warm_start_error"]
    recall = {out: _json(out, "metrics.json")["recall_at_20"] for out in (cold, fallback)}
    assert recall[cold] == recall[fallback], "a fresh start, the same as without warm_start"


def test_a_promoted_model_that_cannot_be_read_leaves_a_fresh_start(synthetic: str, promoted: str, tmp_path) -> None:
    out = str(tmp_path / "next")
    config = TrainConfig.from_json({**FAST, "epochs": 1, "warm_start": True})
    run(synthetic, out, config, promoted, {"model.npz": "0" * 64, "dataset.json": "0" * 64, "params.json": "0" * 64})
    params = _json(out, "params.json")
    assert "sha256" in params["warm_start_error"] and "warm_start_from" not in params
    assert _json(out, "metrics.json")["recall_at_20"] > 0
