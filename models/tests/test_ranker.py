"""The ranker's interactions cover every field it embeds."""

from __future__ import annotations

import torch

from recstream_models.data import load_dataset
from recstream_models.ranker import Ranker


def test_every_embedded_field_reaches_the_logits(synthetic: str) -> None:
    torch.manual_seed(0)
    dataset = load_dataset(synthetic)
    ranker = Ranker(dataset, 8).eval()
    rows = torch.arange(16)
    inputs = ranker.inputs(dataset.columns, rows)
    context = inputs["context_cat"]
    with torch.no_grad():
        base = ranker(inputs)[0]
        # Each context lane in turn, the hour of day (the last lane) included.
        for lane in range(context.shape[1]):
            changed = context.clone()
            changed[:, lane] = (changed[:, lane] + 1) % ranker.context_cat[lane].num_embeddings
            assert not torch.allclose(ranker({**inputs, "context_cat": changed})[0], base), f"context lane {lane} changes nothing"
