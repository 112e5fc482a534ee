"""Bad training sets are refused with an error that names what is wrong."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from recstream_models.data import DatasetError, holdout_split, load_dataset


def test_each_user_holds_out_their_own_latest_rows(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    train, holdout = holdout_split(dataset, 0.1)
    assert train.shape[0] + holdout.shape[0] == dataset.examples
    users, ts = dataset.columns["user"], dataset.columns["ts"]
    per_user = torch.bincount(users)
    held = torch.bincount(users[holdout], minlength=per_user.shape[0])
    assert torch.equal(held, torch.floor(0.1 * per_user.double() + 0.5).long())
    for user in users[holdout].unique().tolist():
        own_train, own_holdout = train[users[train] == user], holdout[users[holdout] == user]
        if own_train.numel():
            assert int(own_train.max()) < int(own_holdout.min()), user
            assert int(ts[own_train].max()) <= int(ts[own_holdout].min()), user
    # Not the end of the stream: the holdout spans the set's time.
    assert int(ts[holdout].min()) < int(torch.quantile(ts.double(), 0.5))


def test_the_stream_holdout_is_the_latest_share_by_event_time(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    train, holdout = holdout_split(dataset, 0.1, "stream")
    assert train.shape[0] + holdout.shape[0] == dataset.examples
    assert int(dataset.columns["ts"][train].max()) <= int(dataset.columns["ts"][holdout].min())


def test_no_holdout_item_is_in_what_training_reads(synthetic: str) -> None:
    """A training row reads its user's history as of its event: none may hold a held-out event's item
    unless the user also had it before (a re-consumption), and so neither may the holdout queries."""
    dataset = load_dataset(synthetic)
    train, holdout = holdout_split(dataset, 0.1)
    columns = dataset.columns
    users, items, history = columns["user"], columns["item"], columns["history_items"]
    for user in users[holdout].unique().tolist()[:200]:
        own_train, own_holdout = train[users[train] == user], holdout[users[holdout] == user]
        before = set(items[own_train].tolist())
        only_held = set(items[own_holdout].tolist()) - before
        read = set(history[own_train].flatten().tolist()) | set(history[own_holdout[:1]].flatten().tolist())
        assert not (only_held & read), (user, only_held & read)


def test_holdout_rows_the_promoted_model_trained_on_train_the_candidate_too(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    ts = dataset.columns["ts"]
    through = int(torch.quantile(ts.double(), 0.8))
    train, holdout = holdout_split(dataset, 0.1, "user", through)
    assert bool((ts[train] <= through).sum() == (ts <= through).sum())
    assert holdout.shape[0] > 0 and int(ts[holdout].min()) > through
    everything = int(ts.max())
    same_data = holdout_split(dataset, 0.1, "user", everything)
    assert torch.equal(same_data[1], holdout_split(dataset, 0.1)[1]), "nothing later: the split stays"


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
