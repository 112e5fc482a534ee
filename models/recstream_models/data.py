"""Loading a training-set directory (models/FORMAT.md): memory-mapped columns, validated against the
column spec generated from the feature declaration (feature_spec.py)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np
import torch

from .feature_spec import CATALOG_COLUMNS, EXAMPLE_COLUMNS, HOURS, VOCABULARY_OF, Name

FORMAT = "recstream-dataset/1"


class DatasetError(ValueError):
    """The training set cannot be trained on; the message names the file or column."""


@dataclass
class Dataset:
    """Every column as a tensor (copied out of the memory maps once), plus the manifest."""

    manifest: dict
    columns: dict[str, torch.Tensor]
    catalog: dict[str, torch.Tensor]

    @property
    def examples(self) -> int:
        return int(self.manifest["examples"])

    def vocabulary_size(self, name: str) -> int:
        return len(self.manifest["vocabularies"][name])

    def dense_names(self, name: str) -> list[str]:
        return list(self.manifest["dense"][name])


def _load_column(directory: str, name: str, entry: dict, dtype: str, ndim: int, rows: int) -> np.ndarray:
    path = os.path.join(directory, entry.get("file", f"{name}.npy"))
    if not os.path.exists(path):
        raise DatasetError(f"column {name}: file {path} is missing")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise DatasetError(f"column {name}: {path} is truncated or not a .npy file ({error})") from error
    if array.dtype != np.dtype(dtype):
        raise DatasetError(f"column {name}: {path} holds {array.dtype}, expected {dtype}")
    if array.ndim != ndim or array.shape[0] != rows or list(array.shape) != list(entry.get("shape", array.shape)):
        raise DatasetError(
            f"column {name}: {path} has shape {list(array.shape)}, the manifest says {entry.get('shape')} ({rows} rows)"
        )
    return array


def _check_values(name: str, array: np.ndarray, manifest: dict) -> None:
    # Engagement is NaN where the watch fraction is unknown (its declared default).
    if array.dtype.kind == "f" and name != Name.ENGAGEMENT:
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise DatasetError(f"column {name} has {bad} NaN or infinite values")
    lanes = VOCABULARY_OF.get(name)
    if lanes is None or array.size == 0:
        return
    matrix = array.reshape(array.shape[0], -1)
    for lane in range(matrix.shape[1]):
        vocabulary = lanes[lane] if len(lanes) > 1 else lanes[0]
        values = matrix[:, lane]
        upper = HOURS if vocabulary is None else len(manifest["vocabularies"][vocabulary])
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= upper:
            raise DatasetError(
                f"column {name} lane {lane} has index {high if high >= upper else low} outside vocabulary"
                f" {vocabulary or 'hour'} of size {upper}: the vocabulary changed under the columns"
            )


def load_dataset(directory: str) -> Dataset:
    """Reads and validates a training set; raises DatasetError naming what is wrong."""
    manifest_path = os.path.join(directory, "manifest.json")
    if not os.path.exists(manifest_path):
        raise DatasetError(f"{manifest_path} is missing: not a training-set directory")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    if manifest.get("format") != FORMAT:
        raise DatasetError(f"{manifest_path} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    rows = int(manifest["examples"])
    if rows == 0:
        raise DatasetError("empty training set: no examples")
    columns: dict[str, torch.Tensor] = {}
    for name, (dtype, ndim) in EXAMPLE_COLUMNS.items():
        entry = manifest["columns"].get(name)
        if entry is None:
            raise DatasetError(f"column {name} is not in the manifest")
        array = _load_column(directory, name, entry, dtype, ndim, rows)
        _check_values(name, array, manifest)
        columns[name] = torch.from_numpy(np.array(array))
    items = len(manifest["vocabularies"]["item"])
    catalog: dict[str, torch.Tensor] = {}
    for name, (dtype, ndim) in CATALOG_COLUMNS.items():
        entry = manifest["catalog_columns"].get(name)
        if entry is None:
            raise DatasetError(f"catalog column {name} is not in the manifest")
        array = _load_column(directory, name, entry, dtype, ndim, items)
        _check_values(name, array, manifest)
        catalog[name] = torch.from_numpy(np.array(array))
    if int(columns["positive"].sum()) == 0:
        raise DatasetError("empty training set: no positive example to train retrieval on")
    return Dataset(manifest=manifest, columns=columns, catalog=catalog)


def holdout_split(
    dataset: Dataset, fraction: float, by: str = "user", after_ts: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Row indices of the training part and the holdout.

    `by` "user": each user's own latest `fraction` of their rows (rounded, so a user with five rows
    or more holds out at least one), the ties in time broken by row order, which is the order the
    point-in-time features were computed in. Every training row of a user comes before their first
    holdout row, so no holdout item is in the history a training row (or the holdout query) reads.
    "stream": the latest `fraction` of all rows by event time, which holds out only the users active
    at the end (a file of users' lines laid out one after the other holds out the last lines' users).

    `after_ts`: the promoted model's last training event; holdout rows at or before it train too, so
    a candidate learns from every event the promoted model did, and both are compared on later ones.
    When no holdout row is after it (a retrain on the same data) the split is left as it was.
    """
    ts, users = dataset.columns["ts"], dataset.columns["user"]
    rows = torch.arange(dataset.examples)
    if fraction <= 0:
        return rows, rows[:0]
    if by == "stream":
        holdout = ts.double() >= torch.quantile(ts.double(), 1 - fraction).item()
    else:
        order = torch.from_numpy(np.lexsort((rows.numpy(), ts.numpy(), users.numpy())))
        per_user = torch.bincount(users)
        first = torch.cumsum(per_user, 0) - per_user
        ranked = users[order]
        position = rows - first[ranked]
        held = torch.floor(fraction * per_user.double() + 0.5).long()
        holdout = torch.zeros(dataset.examples, dtype=torch.bool)
        holdout[order] = position >= per_user[ranked] - held[ranked]
    if after_ts is not None and bool((holdout & (ts > after_ts)).any()):
        holdout = holdout & (ts > after_ts)
    if bool(holdout.all()):
        return rows, rows[:0]
    return rows[~holdout], rows[holdout]
