"""One training run: split, train, evaluate, refit, export (the `train` command)."""

from __future__ import annotations

import time

import torch
from torch import distributed as dist

from . import __version__
from .config import TrainConfig
from .data import Dataset, holdout_split, load_dataset
from .evaluate import (
    Queries,
    holdout_queries,
    holdout_recall_at_20,
    item_embeddings,
    model_retrieval_metrics,
    paired_standard_error,
    popularity_metrics,
    ranker_metrics,
    user_embeddings,
    user_recalls,
)
from .export import export
from .previous import PreviousModel, PreviousModelError, load_previous, previous_trained_through, previous_vectors
from .progress import emit
from .ranker import Ranker
from .runtime import Runtime, finish, seed_everything, start
from .train import EpochStats, exposure_rows, holdout_patience, retrieval_epochs, train_ranker, train_retrieval
from .towers import TwoTower
from .tune import tune
from .warm import warm_start


class BestEpoch:
    """Early stopping on the temporal holdout: after each retrieval epoch, the model's Recall@20 on
    the holdout queries (main rank only); the state of the best epoch is kept, and training stops
    once `patience` epochs in a row have not beaten it. On a sparse set (a simulated world where a
    median user clicked two items) the towers memorise the training part
    within a few epochs and the holdout falls from there; on a dense one (Last.fm) it still rises
    after twenty."""

    def __init__(self, model: TwoTower, dataset: Dataset, queries: Queries, runtime: Runtime, patience: int) -> None:
        self.model, self.dataset, self.queries, self.runtime, self.patience = model, dataset, queries, runtime, patience
        self.epoch = 0
        self.recall = -1.0
        self.state: dict[str, torch.Tensor] | None = None

    def __call__(self, epoch: int) -> bool:
        if not self.runtime.is_main:
            return False
        recall = holdout_recall_at_20(self.model, self.dataset, self.queries, self.runtime.device)
        if recall > self.recall:
            self.epoch, self.recall = epoch, recall
            self.state = {name: value.detach().clone() for name, value in self.model.state_dict().items()}
        emit("holdout", model="retrieval", epoch=epoch, recall_at_20=recall, best_epoch=self.epoch)
        return epoch - self.epoch >= self.patience

    def restore(self) -> int:
        """Puts the best epoch's state back (main rank); returns its number, the same on every rank."""
        if self.state is not None:
            self.model.load_state_dict(self.state)
        best = torch.tensor(self.epoch, device=self.runtime.device)
        if self.runtime.distributed:
            dist.broadcast(best, src=0)
        return int(best.item())


def _fit(
    dataset: Dataset,
    rows: torch.Tensor,
    config: TrainConfig,
    runtime: Runtime,
    phase: str,
    queries: Queries | None = None,
    epochs: int | None = None,
    initial: dict[str, torch.Tensor] | None = None,
):
    """Trains both models on `rows`. With holdout `queries` (automatic epochs), retrieval stops early
    and keeps its best epoch; the count of epochs the returned retrieval model trained comes back last.
    `initial`: a warm start's state, which the towers start from (with its own epoch budget, and the
    start itself scored as epoch 0)."""
    seed_everything(config.seed)
    model = TwoTower.from_config(dataset, config)
    budget = retrieval_epochs(config, int((dataset.columns["positive"][rows] == 1).sum()))
    if initial is not None:
        model.load_state_dict(initial)
        budget = config.warm_start_epochs or budget
    best = BestEpoch(model, dataset, queries, runtime, holdout_patience(config, budget)) if queries is not None else None
    retrieval = train_retrieval(
        model, dataset, rows, config, runtime, phase, best, budget if epochs is None else epochs, score_start=initial is not None
    )
    trained = best.restore() if best is not None else len(retrieval)
    # Each model draws from its own seed: a change to the ranker (its size, its fields) must not move
    # the retrieval model's initialisation or dropout masks, nor the other way round.
    seed_everything(config.seed + 1)
    ranker = Ranker(dataset, config.ranker_dim, config.ranker_dropout)
    ranking = train_ranker(ranker, dataset, rows, config, runtime, phase)
    return model.eval(), ranker.eval(), retrieval, ranking, trained


def _mean_seconds(stats: list[EpochStats]) -> float:
    return sum(s.seconds for s in stats) / len(stats) if stats else 0.0


def _evaluate(
    model: TwoTower,
    ranker: Ranker,
    dataset: Dataset,
    train_rows,
    holdout_rows,
    queries: Queries,
    config: TrainConfig,
    runtime,
    previous: PreviousModel | None,
) -> tuple[dict[str, float], str | None]:
    """The candidate's holdout metrics, and why the promoted model could not be scored (None when it was,
    or when there is none)."""
    metrics: dict[str, float] = {"holdout_users": float(len(queries.relevant))}
    previous_error = None
    if queries.relevant:
        items = item_embeddings(model, dataset.catalog, runtime.device)
        users = user_embeddings(model, dataset.columns, queries.rows, runtime.device)
        retrieval = model_retrieval_metrics(users, items, queries, config.eval_k)
        metrics.update(retrieval)
        metrics.update(popularity_metrics(dataset, train_rows, queries, config.eval_k))
        if previous is not None:
            try:
                metrics.update(
                    _versus_previous(model, users, items, retrieval, dataset, train_rows, holdout_rows, queries, config, runtime, previous)
                )
            except PreviousModelError as error:
                previous_error = str(error)
    metrics.update(ranker_metrics(ranker, dataset, train_rows, holdout_rows, runtime.device))
    return metrics, previous_error


def _versus_previous(
    model: TwoTower,
    users: torch.Tensor,
    items: torch.Tensor,
    retrieval: dict[str, float],
    dataset: Dataset,
    train_rows,
    holdout_rows,
    queries: Queries,
    config: TrainConfig,
    runtime,
    previous: PreviousModel,
) -> dict[str, float]:
    """The candidate and the promoted model scored on the holdout events the promoted model never trained on.

    A promoted model refit on its whole set has trained on every event up to its set's end, and with
    frequent rounds most of a new holdout lies before that: scored there, it would recall what it
    memorised and no candidate could pass it. So both are scored on the holdout events after it
    (`compared_*` and `previous_*`), with the events in between counted as seen; when there are none
    (a retrain on the same data), nothing is compared (`previous_holdout_examples` 0). When every
    holdout event is after it, the candidate's scores on the whole holdout (`retrieval`) are its own.
    `previous_holdout_users` counts the users those events make queries of; with none (the later events
    hold nothing unseen to recall), nothing is compared either. `users` and `items` are the candidate's
    embeddings of the whole holdout's queries and of the catalogue. PreviousModelError when the
    promoted model cannot read this set's inputs.
    """
    through = previous_trained_through(previous)
    holdout_ts = dataset.columns["ts"][holdout_rows]
    after = torch.ones_like(holdout_ts, dtype=torch.bool) if through is None else holdout_ts > through
    metrics = {"previous_holdout_examples": float(after.sum())}
    if bool(after.all()):
        compared, candidate = queries, retrieval
    else:
        seen_rows = torch.cat([train_rows, holdout_rows[~after]])
        compared = holdout_queries(dataset, seen_rows, holdout_rows[after], config.eval_users)
        metrics["previous_holdout_users"] = float(len(compared.relevant))
        if not compared.relevant:
            return metrics
        users = user_embeddings(model, dataset.columns, compared.rows, runtime.device)
        candidate = model_retrieval_metrics(users, items, compared, config.eval_k)
    metrics.update({f"compared_{name}": value for name, value in candidate.items()})
    previous_users, previous_items = previous_vectors(previous, dataset, compared)
    metrics.update(model_retrieval_metrics(previous_users, previous_items, compared, config.eval_k, prefix="previous_"))
    # The gate's noise: the standard error of the per-user difference on these same users.
    metrics["compared_recall_at_20_se"] = paired_standard_error(
        user_recalls(users, items, compared, 20), user_recalls(previous_users, previous_items, compared, 20)
    )
    return metrics


def _shared_through(promoted: PreviousModel | None, runtime: Runtime) -> int | None:
    """The promoted model's last training event (main rank reads it), the same on every rank, which
    must all split the set alike."""
    through = previous_trained_through(promoted) if promoted is not None else None
    if not runtime.distributed:
        return through
    shared = torch.tensor(-1 if through is None else through, dtype=torch.long, device=runtime.device)
    dist.broadcast(shared, src=0)
    return None if int(shared) < 0 else int(shared)


def _shared_flag(value: bool, runtime: Runtime) -> bool:
    """The main rank's `value`, the same on every rank."""
    if not runtime.distributed:
        return value
    shared = torch.tensor(int(value), device=runtime.device)
    dist.broadcast(shared, src=0)
    return bool(shared.item())


def _warm_state(
    dataset: Dataset, config: TrainConfig, runtime: Runtime, promoted: PreviousModel | None, unavailable: str
) -> tuple[dict[str, torch.Tensor] | None, dict]:
    """A warm start's initial state of the towers, and what params.json says of it: `warm_start_from`
    (what was carried over) or `warm_start_error` (why the run starts fresh, `unavailable` when there
    is no promoted model). The main rank copies the weights; the other ranks start from their fresh
    state, which DistributedDataParallel replaces with the main rank's as it wraps the model."""
    seed_everything(config.seed)
    model = TwoTower.from_config(dataset, config)
    params: dict = {}
    if promoted is not None:
        try:
            params["warm_start_from"] = warm_start(model, dataset.manifest["vocabularies"], promoted)
        except (KeyError, RuntimeError, ValueError) as error:
            params["warm_start_error"] = f"the promoted model's weights cannot start this model: {error!r}"
    elif runtime.is_main:
        params["warm_start_error"] = unavailable
    if "warm_start_error" in params:
        emit("warm_start", error=params["warm_start_error"])
    if not _shared_flag("warm_start_from" in params, runtime):
        return None, params
    return {name: value.detach().clone() for name, value in model.state_dict().items()}, params


def run(dataset_dir: str, out: str, config: TrainConfig, previous: str | None, previous_sha256: dict[str, str] | None = None) -> None:
    """Trains, evaluates and exports one version into `out`. `previous` is the promoted model's artifact
    directory, scored on the same holdout; `previous_sha256` (file name → sha256, as its version lists
    them) makes every file read from it checked as it is read. A promoted model that cannot be scored
    does not stop the round: `previous_error` in params.json says why, and the gate decides."""
    runtime = start(config)
    started = time.perf_counter()
    try:
        dataset = load_dataset(dataset_dir)
        promoted, previous_error = None, None
        if previous and runtime.is_main:
            try:
                promoted = load_previous(previous, previous_sha256)
            except PreviousModelError as error:
                previous_error = str(error)
        through = _shared_through(promoted, runtime)
        train_rows, holdout_rows = holdout_split(dataset, config.holdout_fraction, config.holdout, through)
        emit(
            "start",
            device=runtime.name(),
            engine=f"recstream_models-{__version__}/torch-{torch.__version__}",
            examples=dataset.examples,
            train_examples=int(train_rows.shape[0]),
            holdout_examples=int(holdout_rows.shape[0]),
        )
        queries = holdout_queries(dataset, train_rows, holdout_rows, config.eval_users)
        tuning = None
        if config.tune_trials > 0:
            config, tuning = tune(dataset, train_rows, queries, config, runtime)
        initial: dict[str, torch.Tensor] | None = None
        warm: dict = {}
        if config.warm_start:
            unavailable = previous_error or "no promoted model (--previous) to start from"
            initial, warm = _warm_state(dataset, config, runtime, promoted, unavailable)
        # Every rank must agree on stopping early; whether there is a holdout to stop on is the same on all.
        stop_early = config.epochs == 0 and len(queries.relevant) > 0
        model, ranker, retrieval, ranking, epochs = _fit(
            dataset, train_rows, config, runtime, "holdout", queries if stop_early else None, initial=initial
        )
        metrics: dict[str, float] = {}
        if runtime.is_main and holdout_rows.shape[0] > 0:
            metrics, scored_error = _evaluate(model, ranker, dataset, train_rows, holdout_rows, queries, config, runtime, promoted)
            previous_error = previous_error or scored_error
        epoch_seconds = _mean_seconds(retrieval) + _mean_seconds(ranking)
        metrics.update(
            {
                "train_examples": float(train_rows.shape[0]),
                "holdout_examples": float(holdout_rows.shape[0]),
                "retrieval_examples": float(retrieval[0].examples if retrieval else 0),
                "ranker_examples": float(exposure_rows(dataset, train_rows).shape[0]),
                "epoch_seconds": epoch_seconds,
                "examples_per_s": train_rows.shape[0] / epoch_seconds if epoch_seconds > 0 else 0.0,
                "retrieval_epochs": float(epochs),
            }
        )
        refit = config.refit and holdout_rows.shape[0] > 0
        if refit:
            model, ranker, _, _, _ = _fit(dataset, torch.arange(dataset.examples), config, runtime, "refit", epochs=epochs, initial=initial)
        if runtime.is_main:
            emit("metrics", metrics=metrics)
            ts = dataset.columns["ts"]
            # Every event up to it trained the model: a model not refit left each user's latest
            # events out, so that is the moment before the first of them.
            trained_through = ts.max() if refit or holdout_rows.shape[0] == 0 else ts[holdout_rows].min() - 1
            params = {
                **config.to_json(),
                "refit": refit,
                "retrieval_epochs": epochs,
                "trained_through_ts": int(trained_through),
                **({"previous_error": previous_error} if previous_error else {}),
                **warm,
                **({"tuning": tuning} if tuning is not None else {}),
            }
            export(out, model, ranker, dataset, config, metrics, params)
            emit("done", seconds=time.perf_counter() - started)
    finally:
        finish(runtime)
