"""The automatic epoch budget and the holdout patience that follows it."""

from __future__ import annotations

from recstream_models.config import TrainConfig
from recstream_models.train import holdout_patience, retrieval_epochs


def test_the_epoch_budget_grows_with_fewer_positives_and_patience_follows_it() -> None:
    auto = TrainConfig.from_json({})
    assert retrieval_epochs(auto, 670_000) == 4
    assert retrieval_epochs(auto, 73_000) == 30
    assert retrieval_epochs(auto, 5_000_000) == 3
    assert retrieval_epochs(TrainConfig.from_json({"epochs": 7}), 670_000) == 7
    assert holdout_patience(auto, 30) == 10
    assert holdout_patience(auto, 12) == 4
    assert holdout_patience(auto, 4) == 2
