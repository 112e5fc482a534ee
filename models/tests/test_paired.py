"""Per-user recall, which the gate's paired comparison of two models is built on."""

from __future__ import annotations

import pytest
import torch

from recstream_models.evaluate import Queries, model_retrieval_metrics, paired_standard_error, user_recalls


def test_the_mean_of_the_per_user_recalls_is_the_recall_and_a_model_against_itself_has_no_noise() -> None:
    generator = torch.Generator().manual_seed(5)
    users, items = torch.randn(40, 8, generator=generator), torch.randn(60, 8, generator=generator)
    queries = Queries(
        rows=torch.arange(40),
        relevant=[torch.randint(1, 60, (3,), generator=generator).unique() for _ in range(40)],
        seen=[torch.randint(1, 60, (5,), generator=generator).unique() for _ in range(40)],
    )
    recalls = user_recalls(users, items, queries, 20)
    assert recalls.shape == (40,)
    assert float(recalls.mean()) == pytest.approx(model_retrieval_metrics(users, items, queries, (20,))["recall_at_20"], abs=1e-12)
    assert paired_standard_error(recalls, recalls) == 0.0
    other = user_recalls(torch.randn(40, 8, generator=generator), items, queries, 20)
    assert paired_standard_error(recalls, other) > 0
