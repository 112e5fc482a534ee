"""The engine's settings search (tune.py): trials recorded, the best one trained, the time bound kept."""

from __future__ import annotations

import json
import os

import pytest
from conftest import require

from recstream_models.config import TrainConfig
from recstream_models.engine import run

require("optuna", "install Debian's python3-optuna (scripts/setup.sh does) or `pip install optuna`")

FAST = {"epochs": 2, "ranker_epochs": 1, "dim": 16, "refit": False, "threads": 2}


def params_of(out: str) -> dict:
    with open(os.path.join(out, "params.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_the_best_trial_trains_the_model_and_every_trial_is_recorded(synthetic: str, tmp_path) -> None:
    out = str(tmp_path / "tuned")
    run(synthetic, out, TrainConfig.from_json({**FAST, "tune_trials": 3}), None)
    params = params_of(out)
    tuning = params["tuning"]
    assert len(tuning["trials"]) == 3
    assert {t["state"] for t in tuning["trials"]} <= {"complete", "pruned"}
    best = max((t for t in tuning["trials"] if t["state"] == "complete"), key=lambda t: t["recall_at_20"])
    assert tuning["best"] == best["params"]
    for name, value in best["params"].items():
        assert params[name] == value, name


def test_the_search_stops_at_its_time_bound(synthetic: str, tmp_path) -> None:
    out = str(tmp_path / "bounded")
    run(synthetic, out, TrainConfig.from_json({**FAST, "tune_trials": 50, "tune_seconds": 0.01}), None)
    trials = params_of(out)["tuning"]["trials"]
    assert len(trials) == 1
    assert trials[0]["epochs"] == 1


def test_a_search_without_trials_or_time_is_refused() -> None:
    with pytest.raises(ValueError, match="tune_seconds"):
        TrainConfig.from_json({"tune_trials": 3, "tune_seconds": 0})
