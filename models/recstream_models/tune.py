"""Tuning: an Optuna search of the retrieval model's main settings on the engine's own holdout.

Each trial trains the two towers on the training part with the trial's settings and automatic
epochs, scoring the holdout's Recall@20 after every epoch; a trial whose curve falls below the
median of earlier trials at the same epoch is pruned (Optuna's MedianPruner), and every trial stops
at the search's deadline. The best trial's settings then train the model as usual, so the model
evaluated, gated and exported is the one they give, and the search's trials go into `params.json`
(and so into the model version). Only the holdout of the training part is read: whatever a caller
holds out beyond the training set (`recstream eval`'s test files) never reaches the search.
"""

from __future__ import annotations

import dataclasses
import time

import torch

from .config import TrainConfig
from .data import Dataset
from .evaluate import Queries, holdout_recall_at_20
from .progress import emit
from .runtime import Runtime, seed_everything
from .towers import TwoTower
from .train import holdout_patience, retrieval_epochs, train_retrieval

NEGATIVE_POOLS = (512, 1024, 2048, 4096)


class TuningError(ValueError):
    """The search cannot run: the message says why (a missing package, several processes)."""


def _suggest(trial) -> dict:
    """The settings a trial tries: the ones the variants measured in models/README.md move most."""
    return {
        "temperature": trial.suggest_float("temperature", 0.07, 0.3, log=True),
        "lr": trial.suggest_float("lr", 5e-4, 1e-2, log=True),
        "embedding_l2": trial.suggest_float("embedding_l2", 1e-7, 1e-4, log=True),
        "uniform_negatives": trial.suggest_categorical("uniform_negatives", NEGATIVE_POOLS),
    }


def tune(dataset: Dataset, rows: torch.Tensor, queries: Queries, config: TrainConfig, runtime: Runtime) -> tuple[TrainConfig, dict]:
    """`config` with the best trial's settings, and the search's record for params.json.

    >>> tuned, record = tune(dataset, train_rows, queries, TrainConfig.from_json({"tune_trials": 20}), runtime)  # doctest: +SKIP
    >>> record["best"]  # doctest: +SKIP
    {'temperature': 0.14, 'lr': 0.004, 'embedding_l2': 2e-06, 'uniform_negatives': 2048}
    """
    try:
        import optuna
    except ImportError as error:
        raise TuningError("tune_trials needs Optuna: install Debian's python3-optuna (or `pip install optuna`)") from error
    if runtime.distributed:
        raise TuningError("tune_trials runs in one process: tune without torchrun, then train with the chosen settings")
    if not queries.relevant:
        emit("tune", skipped="the holdout has no user with a new positive to score")
        return config, {"skipped": "the holdout has no user with a new positive to score"}
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    positives = int((dataset.columns["positive"][rows] == 1).sum())
    started = time.perf_counter()
    deadline = started + config.tune_seconds

    def objective(trial) -> float:
        trial_config = dataclasses.replace(config, **_suggest(trial))
        budget = retrieval_epochs(trial_config, positives)
        patience = holdout_patience(trial_config, budget)
        seed_everything(config.seed)
        model = TwoTower.from_config(dataset, trial_config)
        best = {"recall": -1.0, "epoch": 0}

        def after_epoch(epoch: int) -> bool:
            recall = holdout_recall_at_20(model, dataset, queries, runtime.device)
            if recall > best["recall"]:
                best.update(recall=recall, epoch=epoch)
            trial.report(recall, epoch)
            if trial.should_prune():
                trial.set_user_attr("epochs", best["epoch"])
                raise optuna.TrialPruned()
            return epoch - best["epoch"] >= patience or time.perf_counter() > deadline

        train_retrieval(model, dataset, rows, trial_config, runtime, "tune", after_epoch)
        trial.set_user_attr("epochs", best["epoch"])
        return best["recall"]

    def report(study, trial) -> None:
        emit("tune", trial=trial.number, state=trial.state.name.lower(), recall_at_20=trial.value, epochs=trial.user_attrs.get("epochs"), params=trial.params)

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=2),
    )
    study.optimize(objective, n_trials=config.tune_trials, timeout=config.tune_seconds, callbacks=[report])
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    record = {
        "seconds": round(time.perf_counter() - started, 1),
        "trials": [
            {"trial": t.number, "state": t.state.name.lower(), "recall_at_20": t.value, "epochs": t.user_attrs.get("epochs"), "params": t.params}
            for t in study.trials
        ],
    }
    if not completed:
        record["best"] = None
        return config, record
    record["best"] = dict(study.best_params)
    record["best_recall_at_20"] = study.best_value
    return dataclasses.replace(config, **study.best_params), record
