"""The user tower's numbers are clipped, so a value training never showed cannot outweigh the rest."""

from __future__ import annotations

import torch

from recstream_models.config import TrainConfig
from recstream_models.data import load_dataset
from recstream_models.towers import DENSE_LIMIT, TwoTower


def test_numbers_far_beyond_the_training_rows_count_as_the_limit(synthetic: str) -> None:
    """Online a user is read as of the request, further from their last event than training rows
    were: such a value is scored as DENSE_LIMIT standard deviations, not extrapolated."""
    dataset = load_dataset(synthetic)
    model = TwoTower.from_config(dataset, TrainConfig())
    rows = torch.arange(dataset.examples)
    model.fit_standardization(dataset, rows)
    model.eval()
    inputs = model.user_inputs(dataset.columns, rows[:8])
    standardize = model.users.standardize
    at_limit = (standardize.mean + DENSE_LIMIT * standardize.std).expand(8, -1).clone()
    with torch.no_grad():
        limit = model.users({**inputs, "user_dense": at_limit})
        beyond = model.users({**inputs, "user_dense": at_limit * 50 + 100})
        inside = model.users({**inputs, "user_dense": standardize.mean.expand(8, -1).clone()})
    # mean + DENSE_LIMIT * std standardises to DENSE_LIMIT only within float rounding, just inside
    # the clip or on it: the scores agree to that rounding, not bit for bit.
    assert torch.allclose(limit, beyond, atol=1e-6)
    assert not torch.allclose(inside, beyond)
