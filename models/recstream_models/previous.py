"""The currently promoted model, scored on the new holdout events it never trained on.

Its vocabularies differ from the new training set's (new users and items,
values gone), so every categorical input is mapped by value onto the
previous model's vocabularies (unknown → 0, as online), and the candidates are
the new set's items with their current catalog metadata.
"""

from __future__ import annotations

import json
import os

import torch

from .data import VOCABULARY_OF, Dataset, DatasetError
from .evaluate import Queries, model_retrieval_metrics, user_embeddings
from .towers import TwoTower


def _mapping(current: list[str], previous: list[str]) -> torch.Tensor:
    index = {value: i for i, value in enumerate(previous) if i > 0}
    return torch.tensor([index.get(value, 0) if i > 0 else 0 for i, value in enumerate(current)], dtype=torch.long)


def _remap(column: str, values: torch.Tensor, maps: dict[str, torch.Tensor]) -> torch.Tensor:
    lanes = VOCABULARY_OF.get(column)
    if lanes is None:
        return values
    if values.dim() == 1 or len(lanes) == 1:
        return maps[lanes[0]][values]
    out = values.clone()
    for lane, vocabulary in enumerate(lanes):
        if vocabulary is not None:
            out[:, lane] = maps[vocabulary][values[:, lane]]
    return out


def load_previous(directory: str) -> tuple[TwoTower, dict]:
    model_path = os.path.join(directory, "model.pt")
    manifest_path = os.path.join(directory, "dataset.json")
    if not (os.path.exists(model_path) and os.path.exists(manifest_path)):
        raise DatasetError(f"--previous {directory} holds no model.pt and dataset.json")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    state = torch.load(model_path, map_location="cpu")
    model = TwoTower(Dataset(manifest=manifest, columns={}, catalog={}), int(state["config"]["dim"]), float(state["config"]["temperature"]))
    model.load_state_dict(state["two_tower"])
    model.eval()
    return model, manifest


def previous_trained_through(directory: str) -> int | None:
    """The latest event time (epoch ms) the promoted model trained on: `trained_through_ts` in its
    params.json; for a model exported before that field, its set's end (`lineage.event_time_end`),
    an upper bound; None when neither is known."""
    params_path = os.path.join(directory, "params.json")
    if os.path.exists(params_path):
        with open(params_path, encoding="utf-8") as handle:
            through = json.load(handle).get("trained_through_ts")
        if isinstance(through, int):
            return through
    with open(os.path.join(directory, "dataset.json"), encoding="utf-8") as handle:
        end = (json.load(handle).get("lineage") or {}).get("event_time_end")
    return int(end) if isinstance(end, (int, float)) and end > 0 else None


def previous_metrics(directory: str, dataset: Dataset, queries: Queries, ks: tuple[int, ...]) -> dict[str, float]:
    """`previous_recall_at_K` / `previous_ndcg_at_K`; nothing when its dense features differ from this set's."""
    model, manifest = load_previous(directory)
    for dense in ("user_dense", "catalog_dense"):
        if manifest["dense"][dense] != dataset.manifest["dense"][dense]:
            return {}
    current = dataset.manifest["vocabularies"]
    maps = {name: _mapping(current[name], manifest["vocabularies"][name]) for name in current if name != "type"}
    catalog = {name: _remap(name, values, maps) for name, values in dataset.catalog.items()}
    with torch.no_grad():
        vectors = model.items(
            maps["item"],
            catalog["catalog_categories"],
            catalog["catalog_tags"],
            catalog["catalog_language"],
            catalog["catalog_dense"],
        ).float()
    columns = {name: _remap(name, dataset.columns[name][queries.rows], maps) for name in dataset.columns}
    users = user_embeddings(model, columns, torch.arange(queries.rows.shape[0]), torch.device("cpu"))
    return model_retrieval_metrics(users, vectors, queries, ks, prefix="previous_")
