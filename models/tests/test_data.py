"""Bad training sets are refused with an error that names what is wrong."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from recstream_models.data import DatasetError, holdout_split, load_dataset


def test_a_valid_set_loads_and_splits_by_event_time(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    train, holdout = holdout_split(dataset, 0.1)
    assert train.shape[0] + holdout.shape[0] == dataset.examples
    assert int(dataset.columns["ts"][train].max()) <= int(dataset.columns["ts"][holdout].min())


def test_a_truncated_column_is_named(synthetic: str, copy_of) -> None:
    broken = copy_of(synthetic)
    path = os.path.join(broken, "item_dense.npy")
    with open(path, "r+b") as handle:
        handle.truncate(os.path.getsize(path) // 2)
    with pytest.raises(DatasetError, match="item_dense"):
        load_dataset(broken)


def test_nan_features_are_refused(synthetic: str, copy_of) -> None:
    broken = copy_of(synthetic)
    path = os.path.join(broken, "user_dense.npy")
    values = np.load(path)
    values[5, 2] = np.nan
    values[9, 0] = np.inf
    np.save(path, values)
    with pytest.raises(DatasetError, match="user_dense has 2 NaN or infinite values"):
        load_dataset(broken)


def test_a_missing_column_file_is_named(synthetic: str, copy_of) -> None:
    broken = copy_of(synthetic)
    os.remove(os.path.join(broken, "history_items.npy"))
    with pytest.raises(DatasetError, match="history_items"):
        load_dataset(broken)


def test_a_vocabulary_that_changed_under_the_columns_is_refused(synthetic: str, copy_of) -> None:
    broken = copy_of(synthetic)
    manifest_path = os.path.join(broken, "manifest.json")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest["vocabularies"]["item"] = manifest["vocabularies"]["item"][:50]
    with open(manifest_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    with pytest.raises(DatasetError, match="outside vocabulary item"):
        load_dataset(broken)


def test_an_empty_set_is_refused(synthetic: str, copy_of) -> None:
    broken = copy_of(synthetic)
    manifest_path = os.path.join(broken, "manifest.json")
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    manifest["examples"] = 0
    with open(manifest_path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    with pytest.raises(DatasetError, match="empty training set"):
        load_dataset(broken)
