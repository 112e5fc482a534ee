"""The engine end to end on synthetic sets: it learns, repeats itself, exports what it promised."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from recstream_models.config import TrainConfig
from recstream_models.data import load_dataset
from recstream_models.engine import run
from recstream_models.export import export
from recstream_models.previous import PreviousModelError, load_previous, previous_trained_through
from recstream_models.ranker import Ranker
from recstream_models.runtime import start
from recstream_models.train import train_retrieval
from recstream_models.towers import TwoTower

FAST = {"epochs": 6, "ranker_epochs": 4, "ranker_batch_size": 512, "dim": 32, "refit": False, "threads": 2}
TIMINGS = ("epoch_seconds", "examples_per_s")


def retrieval_metrics(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k.startswith(("recall_at", "ndcg_at"))}


def metrics_of(out: str) -> dict:
    with open(os.path.join(out, "metrics.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="session")
def trained(synthetic: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("trained") / "out")
    run(synthetic, out, TrainConfig.from_json(FAST), None)
    return out


def test_retrieval_beats_popularity_and_the_ranker_beats_ctr(trained: str) -> None:
    metrics = metrics_of(trained)
    assert metrics["recall_at_20"] > 1.2 * metrics["popularity_recall_at_20"], metrics
    assert metrics["ndcg_at_20"] > metrics["popularity_ndcg_at_20"], metrics
    assert metrics["ranker_auc"] > metrics["ctr_baseline_auc"], metrics


def test_the_same_seed_gives_the_same_metrics_on_cpu(synthetic: str, trained: str, tmp_path) -> None:
    """The promise is for the CPU, whose kernels run deterministically; CUDA's scatter-adds do not."""
    cpu = TrainConfig.from_json({**FAST, "device": "cpu"})
    first_out = trained
    if torch.cuda.is_available():
        first_out = str(tmp_path / "first")
        run(synthetic, first_out, cpu, None)
    again = str(tmp_path / "again")
    run(synthetic, again, cpu, None)
    first = {k: v for k, v in metrics_of(first_out).items() if k not in TIMINGS}
    second = {k: v for k, v in metrics_of(again).items() if k not in TIMINGS}
    assert first == second


def test_a_different_ranker_leaves_the_retrieval_model_as_it_was(synthetic: str, trained: str, tmp_path) -> None:
    """Each model draws from its own seed, so the ranker's size does not move the retrieval metrics."""
    if torch.cuda.is_available():
        pytest.skip("the same-seed promise is for the CPU")
    other = str(tmp_path / "other-ranker")
    run(synthetic, other, TrainConfig.from_json({**FAST, "ranker_dim": 8}), None)
    assert retrieval_metrics(metrics_of(other)) == retrieval_metrics(metrics_of(trained))
    assert metrics_of(other)["ranker_auc"] != metrics_of(trained)["ranker_auc"]


def test_export_writes_every_artifact_and_parity_matches_the_model(trained: str) -> None:
    for name in ("user_tower.onnx", "item_tower.onnx", "ranker.onnx", "item_embeddings.npy", "model.npz", "dataset.json", "metrics.json", "params.json", "parity.json"):
        assert os.path.getsize(os.path.join(trained, name)) > 0, name
    assert not os.path.exists(os.path.join(trained, "model.pt")), "no pickle is written"
    model, manifest, _ = load_previous(trained)
    embeddings = np.load(os.path.join(trained, "item_embeddings.npy"))
    assert embeddings.shape == (len(manifest["vocabularies"]["item"]), 33)
    with open(os.path.join(trained, "parity.json"), encoding="utf-8") as handle:
        parity = json.load(handle)
    inputs = parity["user_tower"]["inputs"]
    tensors = {n: torch.tensor(inputs[n]["data"]).reshape(inputs[n]["shape"]) for n in inputs}
    expected = torch.tensor(parity["user_tower"]["outputs"]["embedding"]["data"])
    with torch.no_grad():
        actual = model.users(tensors).reshape(-1)
    assert torch.allclose(actual, expected, atol=1e-6)
    norms = np.linalg.norm(embeddings[1:, :32], axis=1)
    assert np.allclose(norms, 1, atol=1e-4)


def test_the_promoted_model_is_scored_on_the_new_holdout_across_changed_vocabularies(synthetic: str, trained: str, copy_of, tmp_path) -> None:
    changed = copy_of(synthetic)
    path = os.path.join(changed, "manifest.json")
    with open(path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    # A later set: some users gone (renamed), so indices no longer mean the same values.
    manifest["vocabularies"]["user"] = [v if i % 7 else f"{v}-new" for i, v in enumerate(manifest["vocabularies"]["user"])]
    manifest["vocabularies"]["user"][0] = "<unk>"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    out = str(tmp_path / "next")
    run(changed, out, TrainConfig.from_json(FAST), trained)
    metrics = metrics_of(out)
    assert 0 < metrics["previous_recall_at_20"] <= 1
    assert metrics["previous_recall_at_20"] > metrics["popularity_recall_at_20"]


def prefix_of(source: str, target: str, share: float) -> str:
    """A copy of a training set with only its first `share` of the rows: the set an earlier round saw."""
    shutil.copytree(source, target)
    path = os.path.join(target, "manifest.json")
    with open(path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    rows = int(manifest["examples"] * share)
    manifest["examples"] = rows
    for entry in manifest["columns"].values():
        column = os.path.join(target, entry["file"])
        np.save(column, np.load(column)[:rows])
        entry["shape"] = [rows, *entry["shape"][1:]]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return target


def test_a_candidate_trains_on_everything_the_promoted_model_did_and_both_are_compared_on_later_events(
    synthetic: str, tmp_path
) -> None:
    """The promoted model was refit on an earlier set; the candidate's holdout is its users' latest
    events after that set's end, and every event up to it trains the candidate too (a holdout
    reaching further back would leave the candidate knowing less than the model it must beat)."""
    earlier = prefix_of(synthetic, str(tmp_path / "earlier"), 0.8)
    promoted = str(tmp_path / "promoted")
    run(earlier, promoted, TrainConfig.from_json({**FAST, "refit": True}), None)
    through = previous_trained_through(load_previous(promoted))
    ts = load_dataset(synthetic).columns["ts"]
    assert through == int(load_dataset(earlier).columns["ts"].max())
    out = str(tmp_path / "next")
    run(synthetic, out, TrainConfig.from_json(FAST), promoted)
    metrics = metrics_of(out)
    assert metrics["train_examples"] >= int((ts <= through).sum())
    assert 0 < metrics["previous_holdout_examples"] == metrics["holdout_examples"] <= int((ts > through).sum())
    assert metrics["compared_recall_at_20"] == metrics["recall_at_20"], "every holdout event is after it"
    assert 0 < metrics["previous_recall_at_20"] <= 1
    assert 0 < metrics["compared_recall_at_20_se"] < 0.1


def test_a_model_exported_before_trained_through_ts_counts_as_trained_to_its_set_end(trained: str, tmp_path) -> None:
    older = str(tmp_path / "older")
    shutil.copytree(trained, older)
    params_path, dataset_path = os.path.join(older, "params.json"), os.path.join(older, "dataset.json")
    with open(params_path, encoding="utf-8") as handle:
        params = json.load(handle)
    assert isinstance(params.pop("trained_through_ts"), int)
    with open(params_path, "w", encoding="utf-8") as handle:
        json.dump(params, handle)
    with open(dataset_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    assert previous_trained_through(load_previous(older)) == manifest["lineage"]["event_time_end"] > 0
    manifest["lineage"]["event_time_end"] = 0
    with open(dataset_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    assert previous_trained_through(load_previous(older)) is None, "unknown: compared on the whole holdout, as before"


def test_a_promoted_model_refit_on_the_same_data_is_not_compared(synthetic: str, tmp_path) -> None:
    """Refit on every example, it has seen the whole holdout: scored there it would win on memory alone."""
    promoted = str(tmp_path / "promoted")
    run(synthetic, promoted, TrainConfig.from_json({**FAST, "refit": True}), None)
    out = str(tmp_path / "again")
    run(synthetic, out, TrainConfig.from_json(FAST), promoted)
    metrics = metrics_of(out)
    assert metrics["previous_holdout_examples"] == 0
    assert "previous_recall_at_20" not in metrics and "compared_recall_at_20" not in metrics


def test_a_new_item_with_categories_but_no_interactions_lands_near_its_category(trained: str, synthetic: str) -> None:
    model = load_previous(trained).model
    dataset = load_dataset(synthetic)
    catalog = dataset.catalog
    items = torch.arange(1, catalog["catalog_language"].shape[0])
    with torch.no_grad():
        known = model.items(model.item_inputs(catalog, items))
        # The same metadata with the id unknown (index 0): what a brand-new item looks like.
        cold = model.items({**model.item_inputs(catalog, items), "item": torch.zeros_like(items)})
    first_category = catalog["catalog_categories"][items, 0]
    neighbours = torch.topk(cold @ known.t(), 10, dim=1).indices
    shared = (first_category[neighbours] == first_category.unsqueeze(1)).float().mean().item()
    chance = torch.bincount(first_category).max().item() / items.shape[0]
    assert shared > 3 * chance, (shared, chance)


def test_the_cosine_contrastive_loss_learns_too(synthetic: str) -> None:
    config = TrainConfig.from_json({**FAST, "epochs": 3, "loss": "cosine_contrastive"})
    runtime = start(config)
    dataset = load_dataset(synthetic)
    stats = train_retrieval(TwoTower(dataset, config.dim, config.temperature), dataset, torch.arange(dataset.examples), config, runtime, "test")
    assert len(stats) == 3


def test_automatic_epochs_stop_once_the_holdout_stops_improving_and_keep_the_best(synthetic: str, tmp_path, capsys) -> None:
    """In `bench quality`'s simulated world a median user clicked two items: trained the 30 epochs
    the size rule gives, the towers memorise them (Recall@20 against its truth 0.18; 0.22 to 0.23
    at the best holdout epoch). The model evaluated and the refit are the best epoch's."""
    out = str(tmp_path / "auto")
    run(synthetic, out, TrainConfig.from_json({**FAST, "epochs": 0, "patience": 2, "refit": True}), None)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    curve = {e["epoch"]: e["recall_at_20"] for e in events if e["event"] == "holdout"}
    best = max(curve, key=lambda epoch: (curve[epoch], -epoch))
    assert max(curve) == best + 2 < 30, curve
    metrics = metrics_of(out)
    assert metrics["retrieval_epochs"] == best
    assert metrics["recall_at_20"] == pytest.approx(curve[best])
    refit = [e for e in events if e["event"] == "epoch" and e["model"] == "retrieval" and e["phase"] == "refit"]
    assert len(refit) == best


def test_unknown_settings_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown training setting.*epochz"):
        TrainConfig.from_json({"epochz": 3})


def test_the_command_line_ends_a_failure_with_an_error_line(synthetic: str, copy_of, tmp_path) -> None:
    broken = copy_of(synthetic)
    os.remove(os.path.join(broken, "label.npy"))
    env = {**os.environ, "PYTHONPATH": os.path.join(os.path.dirname(__file__), "..")}
    result = subprocess.run(
        [sys.executable, "-m", "recstream_models", "train", "--dataset", broken, "--out", str(tmp_path / "o")],
        capture_output=True, text=True, env=env, check=False,
    )
    assert result.returncode == 2
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert last["event"] == "error" and "label" in last["message"]
    assert not os.path.exists(tmp_path / "o")


def test_export_replaces_a_half_written_directory_whole(synthetic: str, tmp_path) -> None:
    dataset = load_dataset(synthetic)
    config = TrainConfig.from_json(FAST)
    out = str(tmp_path / "artifacts")
    os.makedirs(f"{out}.tmp")
    with open(os.path.join(f"{out}.tmp", "user_tower.onnx"), "w", encoding="utf-8") as handle:
        handle.write("half")
    export(out, TwoTower(dataset, 32, 0.15), Ranker(dataset, 16), dataset, config, {}, {})
    assert not os.path.exists(f"{out}.tmp")
    assert os.path.getsize(os.path.join(out, "user_tower.onnx")) > 1000


def _sha256_of(directory: str) -> dict[str, str]:
    import hashlib

    return {name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest() for name in os.listdir(directory)}


class _RunsCode:
    """A pickle that runs code when unpickled: it creates `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_weights_are_tensors_only_and_load_without_pickle(trained: str) -> None:
    with np.load(os.path.join(trained, "model.npz"), allow_pickle=False) as arrays:
        assert all(arrays[name].dtype != object for name in arrays.files)
        assert int(arrays["config/dim"]) == 32
        assert any(name.startswith("ranker/") for name in arrays.files)
    model = load_previous(trained, _sha256_of(trained)).model
    assert model.items.item_id.weight.shape[1] == 32


def test_a_model_exported_with_a_pickled_model_pt_only_is_refused_not_unpickled(trained: str, tmp_path) -> None:
    older = str(tmp_path / "older")
    shutil.copytree(trained, older)
    os.remove(os.path.join(older, "model.npz"))
    marker = str(tmp_path / "ran")
    torch.save({"config": {"dim": 32}, "two_tower": _RunsCode(marker)}, os.path.join(older, "model.pt"))
    with pytest.raises(PreviousModelError, match="model.pt is not loaded"):
        load_previous(older)
    assert not os.path.exists(marker), "the pickle was never run"


def test_each_file_of_the_promoted_model_is_hashed_as_it_is_read(trained: str, tmp_path) -> None:
    expected = _sha256_of(trained)
    for name in ("model.npz", "dataset.json", "params.json"):
        with pytest.raises(PreviousModelError, match=f"{name} at .* has sha256 .*, expected 0+"):
            load_previous(trained, {**expected, name: "0" * 64})
    changed = str(tmp_path / "changed")
    shutil.copytree(trained, changed)
    with open(os.path.join(changed, "model.npz"), "ab") as handle:
        handle.write(b"appended after its version was published")
    with pytest.raises(PreviousModelError, match="model.npz"):
        load_previous(changed, expected)


def test_a_promoted_model_that_does_not_verify_is_not_compared_and_the_round_says_why(synthetic: str, trained: str, tmp_path) -> None:
    out = str(tmp_path / "next")
    run(synthetic, out, TrainConfig.from_json(FAST), trained, {**_sha256_of(trained), "model.npz": "0" * 64})
    metrics = metrics_of(out)
    assert "previous_recall_at_20" not in metrics and metrics["recall_at_20"] > 0
    with open(os.path.join(out, "params.json"), encoding="utf-8") as handle:
        assert "model.npz" in json.load(handle)["previous_error"]


def test_an_export_is_whole_and_leaves_no_staging_directory(synthetic: str, tmp_path) -> None:
    dataset = load_dataset(synthetic)
    out = str(tmp_path / "artifacts")
    export(out, TwoTower(dataset, 32, 0.15), Ranker(dataset, 16), dataset, TrainConfig.from_json(FAST), {}, {})
    assert sorted(os.listdir(tmp_path)) == ["artifacts"]
    with np.load(os.path.join(out, "model.npz"), allow_pickle=False) as arrays:
        assert "two_tower/items.item_id.weight" in arrays.files
