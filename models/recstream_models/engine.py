"""One training run: split, train, evaluate, refit, export (the `train` command)."""

from __future__ import annotations

import time

import torch

from . import __version__
from .config import TrainConfig
from .data import Dataset, holdout_split, load_dataset
from .evaluate import (
    holdout_queries,
    item_embeddings,
    model_retrieval_metrics,
    popularity_metrics,
    ranker_metrics,
    user_embeddings,
)
from .export import export
from .previous import previous_metrics
from .progress import emit
from .ranker import Ranker
from .runtime import Runtime, finish, seed_everything, start
from .train import EpochStats, exposure_rows, train_ranker, train_retrieval
from .towers import TwoTower


def _fit(dataset: Dataset, rows: torch.Tensor, config: TrainConfig, runtime: Runtime, phase: str):
    seed_everything(config.seed)
    model = TwoTower.from_config(dataset, config)
    ranker = Ranker(dataset, config.ranker_dim, config.ranker_dropout)
    retrieval = train_retrieval(model, dataset, rows, config, runtime, phase)
    ranking = train_ranker(ranker, dataset, rows, config, runtime, phase)
    return model.eval(), ranker.eval(), retrieval, ranking


def _mean_seconds(stats: list[EpochStats]) -> float:
    return sum(s.seconds for s in stats) / len(stats) if stats else 0.0


def _evaluate(
    model: TwoTower, ranker: Ranker, dataset: Dataset, train_rows, holdout_rows, config: TrainConfig, runtime, previous
) -> dict[str, float]:
    queries = holdout_queries(dataset, train_rows, holdout_rows, config.eval_users)
    metrics: dict[str, float] = {"holdout_users": float(len(queries.relevant))}
    if queries.relevant:
        items = item_embeddings(model, dataset.catalog, runtime.device)
        users = user_embeddings(model, dataset.columns, queries.rows, runtime.device)
        metrics.update(model_retrieval_metrics(users, items, queries, config.eval_k))
        metrics.update(popularity_metrics(dataset, train_rows, queries, config.eval_k))
        if previous:
            metrics.update(previous_metrics(previous, dataset, queries, config.eval_k))
    metrics.update(ranker_metrics(ranker, dataset, train_rows, holdout_rows, runtime.device))
    return metrics


def run(dataset_dir: str, out: str, config: TrainConfig, previous: str | None) -> None:
    runtime = start(config)
    started = time.perf_counter()
    try:
        dataset = load_dataset(dataset_dir)
        train_rows, holdout_rows = holdout_split(dataset, config.holdout_fraction)
        emit(
            "start",
            device=runtime.name(),
            engine=f"recstream_models-{__version__}/torch-{torch.__version__}",
            examples=dataset.examples,
            train_examples=int(train_rows.shape[0]),
            holdout_examples=int(holdout_rows.shape[0]),
        )
        model, ranker, retrieval, ranking = _fit(dataset, train_rows, config, runtime, "holdout")
        metrics: dict[str, float] = {}
        if runtime.is_main and holdout_rows.shape[0] > 0:
            metrics = _evaluate(model, ranker, dataset, train_rows, holdout_rows, config, runtime, previous)
        epoch_seconds = _mean_seconds(retrieval) + _mean_seconds(ranking)
        metrics.update(
            {
                "train_examples": float(train_rows.shape[0]),
                "holdout_examples": float(holdout_rows.shape[0]),
                "retrieval_examples": float(retrieval[0].examples if retrieval else 0),
                "ranker_examples": float(exposure_rows(dataset, train_rows).shape[0]),
                "epoch_seconds": epoch_seconds,
                "examples_per_s": train_rows.shape[0] / epoch_seconds if epoch_seconds > 0 else 0.0,
                "retrieval_epochs": float(len(retrieval)),
            }
        )
        refit = config.refit and holdout_rows.shape[0] > 0
        if refit:
            model, ranker, _, _ = _fit(dataset, torch.arange(dataset.examples), config, runtime, "refit")
        if runtime.is_main:
            emit("metrics", metrics=metrics)
            params = {**config.to_json(), "refit": refit, "retrieval_epochs": len(retrieval)}
            export(out, model, ranker, dataset, config, metrics, params)
            emit("done", seconds=time.perf_counter() - started)
    finally:
        finish(runtime)
