"""The retrieval loss's exposure offset: what it is made of and what it does to the loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from recstream_models.config import TrainConfig
from recstream_models.data import load_dataset
from recstream_models.losses import log_exposure, sampled_softmax
from recstream_models.train import exposure_offsets


def _loss(exposure: torch.Tensor | None) -> float:
    generator = torch.Generator().manual_seed(5)
    users = F.normalize(torch.randn(4, 8, generator=generator), dim=-1)
    positives = F.normalize(torch.randn(4, 8, generator=generator), dim=-1)
    uniform = F.normalize(torch.randn(6, 8, generator=generator), dim=-1)
    return float(
        sampled_softmax(
            users,
            positives,
            uniform,
            torch.tensor([1, 2, 3, 4]),
            torch.tensor([5, 6, 7, 8, 9, 10]),
            None,
            None,
            0.2,
            torch.ones(4),
            exposure,
        )
    )


def test_items_shown_more_get_a_larger_offset_and_the_offsets_are_centred() -> None:
    offsets = log_exposure(torch.tensor([0, 10, 100, 1000]))
    assert offsets.tolist() == sorted(offsets.tolist())
    assert abs(float(offsets.mean())) < 1e-6


def test_a_constant_offset_changes_nothing_and_one_on_the_positives_lowers_the_loss() -> None:
    plain = _loss(None)
    assert abs(_loss(torch.full((10,), 3.0)) - plain) < 1e-5
    favoured = torch.cat([torch.full((4,), 2.0), torch.zeros(6)])
    assert _loss(favoured) < plain - 0.5


def test_the_offsets_come_from_the_impressions_and_are_none_without_any(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    rows = torch.arange(dataset.examples)
    items = dataset.vocabulary_size("item")
    offsets = exposure_offsets(dataset, rows, items, 0.5, torch.device("cpu"))
    assert offsets is not None and offsets.shape == (items,)
    shown = rows[dataset.columns["clicked"] >= 0]
    counts = torch.bincount(dataset.columns["item"][shown], minlength=items)
    most, least = int(counts.argmax()), int(counts[1:].argmin()) + 1
    assert offsets[most] > offsets[least]
    assert exposure_offsets(dataset, rows, items, 0.0, torch.device("cpu")) is None
    clicks_only = rows[dataset.columns["clicked"] < 0]
    assert exposure_offsets(dataset, clicks_only, items, 0.5, torch.device("cpu")) is None


def test_a_negative_exposure_correction_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="exposure_correction"):
        TrainConfig.from_json({"exposure_correction": -0.5})
