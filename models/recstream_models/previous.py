"""The currently promoted model, scored on the new holdout events it never trained on.

Its vocabularies differ from the new training set's (new users and items,
values gone), so every categorical input is mapped by value onto the
previous model's vocabularies (unknown → 0, as online), and the candidates are
the new set's items with their current catalog metadata.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import NamedTuple

import numpy as np
import torch

from .data import Dataset
from .evaluate import Queries, user_embeddings
from .feature_spec import ARTIFACT_FILES, MODEL_INPUTS, VOCABULARY_OF
from .inputs import item_features
from .towers import ITEM_TOWER, USER_TOWER, TwoTower

TOWER_DENSE = tuple(
    declared.column for tower in (USER_TOWER, ITEM_TOWER) for declared in MODEL_INPUTS[tower] if declared.kind == "numeric"
)
"""The numeric columns the towers read (the spec's numeric inputs): a promoted model reads this set's inputs
only when their lanes are the same."""

WEIGHTS = ARTIFACT_FILES["weights"]
"""The tensor-only weights `export` writes: `two_tower/<name>` and `ranker/<name>` state tensors and
`config/dim` (the towers' width; the item prior's scale is a state tensor), in an `.npz` read with `allow_pickle=False`, so loading them runs
no code from the file."""


class PreviousModelError(ValueError):
    """The promoted model cannot be scored: a file missing, its bytes not the sha256 its version names,
    or weights in a format that is not loaded. The message says which; the round goes on without it."""


class PreviousModel(NamedTuple):
    model: TwoTower
    manifest: dict
    params: dict


def _read_checked(directory: str, name: str, sha256: dict[str, str] | None) -> bytes:
    """The file's bytes, read once; with `sha256`, refused unless they hash to its `name` entry. What is
    parsed is these bytes, so a file changed after the check is never the one loaded."""
    path = os.path.join(directory, name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise PreviousModelError(f"the promoted model's {name} cannot be read at {path}: {error.strerror}") from error
    if sha256 is not None:
        expected = sha256.get(name)
        if expected is None:
            raise PreviousModelError(f"the promoted model's {name} has no sha256 in its version to check it against")
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise PreviousModelError(f"the promoted model's {name} at {path} has sha256 {actual}, expected {expected}")
    return data


def load_previous(directory: str, sha256: dict[str, str] | None = None) -> PreviousModel:
    """The promoted model's retrieval towers, from its tensor-only `model.npz`, with its `dataset.json`
    and `params.json`; every file hashed as read when `sha256` (file name → hex digest) is given.

    A model exported before `model.npz` holds only a pickled `model.pt`; it is refused, not unpickled:
    `torch.load` runs code from the file, and torch 1.13's `weights_only=True` does not prevent that in
    every case (CVE-2025-32434, fixed in torch 2.6)."""
    if not os.path.exists(os.path.join(directory, WEIGHTS)) and os.path.exists(os.path.join(directory, "model.pt")):
        raise PreviousModelError(
            f"the promoted model at {directory} was exported before tensor-only weights ({WEIGHTS}): "
            "its pickled model.pt is not loaded; retrain it or promote a newer version"
        )
    manifest = json.loads(_read_checked(directory, ARTIFACT_FILES["dataset"], sha256))
    params_file = ARTIFACT_FILES["params"]
    params_bytes = _read_checked(directory, params_file, sha256) if os.path.exists(os.path.join(directory, params_file)) else b"{}"
    params = json.loads(params_bytes)
    weights = _read_checked(directory, WEIGHTS, sha256)
    try:
        with np.load(io.BytesIO(weights), allow_pickle=False) as arrays:
            tensors = {name: torch.from_numpy(arrays[name].copy()) for name in arrays.files}
    except ValueError as error:
        raise PreviousModelError(f"the promoted model's {WEIGHTS} is not a tensor-only npz: {error}") from error
    try:
        state = {name[len("two_tower/") :]: t for name, t in tensors.items() if name.startswith("two_tower/")}
        # A model exported before the consumers table had none: an empty one is the same model.
        state.setdefault("items.consumers", torch.zeros(len(manifest["vocabularies"]["item"]), 0, dtype=torch.long))
        model = TwoTower(
            Dataset(manifest=manifest, columns={}, catalog={}),
            int(tensors["config/dim"]),
            0.0,
            consumers=int(state["items.consumers"].shape[1]),
        )
        model.load_state_dict(state)
    except (KeyError, RuntimeError) as error:
        raise PreviousModelError(f"the promoted model's {WEIGHTS} does not fit its dataset.json: {error}") from error
    model.eval()
    return PreviousModel(model, manifest, params)


def weights_npz(dim: int, states: dict[str, dict[str, torch.Tensor]]) -> dict[str, np.ndarray]:
    """The arrays of `model.npz`: each state's tensors as `<state>/<name>`, and the towers' width."""
    arrays = {f"{state}/{name}": tensor.detach().cpu().numpy() for state, tensors in states.items() for name, tensor in tensors.items()}
    arrays["config/dim"] = np.array(dim, dtype=np.int64)
    return arrays


def _mapping(current: list[str], previous: list[str]) -> torch.Tensor:
    index = {value: i for i, value in enumerate(previous) if i > 0}
    return torch.tensor([index.get(value, 0) if i > 0 else 0 for i, value in enumerate(current)], dtype=torch.long)


def _remap(column: str, values: torch.Tensor, maps: dict[str, torch.Tensor]) -> torch.Tensor:
    lanes = VOCABULARY_OF.get(column)
    if lanes is None:
        return values
    if values.dim() == 1 or len(lanes) == 1:
        only = lanes[0]
        return values if only is None else maps[only][values]
    out = values.clone()
    for lane, vocabulary in enumerate(lanes):
        if vocabulary is not None:
            out[:, lane] = maps[vocabulary][values[:, lane]]
    return out


def previous_trained_through(previous: PreviousModel) -> int | None:
    """The event time (epoch ms) up to which the promoted model trained on every event: `trained_through_ts` in its
    params.json; for a model exported before that field, its set's end (`lineage.event_time_end`),
    an upper bound; None when neither is known."""
    through = previous.params.get("trained_through_ts")
    if isinstance(through, int):
        return through
    end = (previous.manifest.get("lineage") or {}).get("event_time_end")
    return int(end) if isinstance(end, (int, float)) and end > 0 else None


def previous_vectors(previous: PreviousModel, dataset: Dataset, queries: Queries) -> tuple[torch.Tensor, torch.Tensor]:
    """The promoted model's vectors for the queries' users and for this set's items (in this set's item
    order); PreviousModelError when its dense features differ from this set's (it cannot read this
    set's inputs)."""
    model, manifest = previous.model, previous.manifest
    for dense in TOWER_DENSE:
        if manifest["dense"][dense] != dataset.manifest["dense"][dense]:
            raise PreviousModelError(f"the promoted model was trained with {dense} {manifest['dense'][dense]}, this set has {dataset.manifest['dense'][dense]}")
    current = dataset.manifest["vocabularies"]
    maps = {name: _mapping(current[name], manifest["vocabularies"][name]) for name in current if name != "type"}
    catalog = {name: _remap(name, values, maps) for name, values in dataset.catalog.items()}
    with torch.no_grad():
        rows = torch.arange(maps["item"].shape[0])
        vectors = model.items(item_features(catalog, rows, ids=maps["item"])).float()
    columns = {name: _remap(name, dataset.columns[name][queries.rows], maps) for name in dataset.columns}
    users = user_embeddings(model, columns, torch.arange(queries.rows.shape[0]), torch.device("cpu"))
    return users, vectors

