"""The training loop, and what it runs for each model: retrieval (two-tower) on positives, the ranker on exposures."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import distributed as dist
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .config import TrainConfig
from .data import Dataset
from .losses import cosine_contrastive, log_exposure, log_q, log_q_uniform, sampled_softmax
from .progress import emit
from .feature_spec import RANKER_INPUTS, USER_TOWER_INPUTS, Name
from .graph import latest_consumers
from .inputs import Features
from .ranker import Ranker
from .runtime import Runtime, batches, shard
from .towers import TwoTower


@dataclass
class EpochStats:
    seconds: float
    examples: int


class RetrievalStep(nn.Module):
    """One forward pass of both towers, as one module so DistributedDataParallel can wrap it."""

    def __init__(self, model: TwoTower) -> None:
        super().__init__()
        self.model = model

    def forward(self, user_inputs: Features, item_inputs: Features, keep_id: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.users(user_inputs), self.model.items(item_inputs, keep_id=keep_id)


def _emit_step(
    model: str, phase: str, epoch: int, step: int, steps: int, loss: torch.Tensor, started: float, examples: int
) -> None:
    elapsed = time.perf_counter() - started
    emit(
        "step",
        model=model,
        phase=phase,
        epoch=epoch,
        step=step,
        steps=steps,
        loss=float(loss.detach()),
        step_ms=elapsed * 1000,
        examples_per_s=examples / max(elapsed, 1e-9),
    )


def step_generator(epoch_generator: torch.Generator, seed: int, runtime: Runtime) -> torch.Generator:
    """Where a step's random draws come from. On CUDA a generator on the GPU: a draw made on the host
    would be copied over each step, and that copy waits for the GPU to finish the step before. On
    the CPU the loop's one generator, so a seed gives one sequence of draws."""
    if runtime.device.type == "cpu":
        return epoch_generator
    return torch.Generator(device=runtime.device).manual_seed(seed)


SEEN_POSITIVES = 2_500_000
"""Automatic epochs: at most about this many positives seen in all, which bounds a large set's
training time. MovieLens-1M scores higher with more epochs, alone (Recall@20 0.251 in 3, 0.278 in 10)
and through the serving path (0.2594 in the budget's 4, 0.2746 with `epochs` 10, `recstream eval`),
at 2.5 times the training time; a set of a million interactions must train in minutes on two cores,
so the budget stays and a deployment that can afford the time sets `epochs` (models/README.md)."""


def retrieval_epochs(config: TrainConfig, positives: int) -> int:
    """The configured epochs, or about `SEEN_POSITIVES` positives seen in all (3 to 30 epochs)."""
    if config.epochs > 0:
        return config.epochs
    return max(3, min(30, round(SEEN_POSITIVES / max(positives, 1))))


def holdout_patience(config: TrainConfig, epochs: int) -> int:
    """Epochs without a better holdout before automatic epochs stop: `patience`, but at most a third
    of the epoch budget (at least 2), so a large set whose budget is a few long epochs stops soon
    after its best one instead of running the whole budget."""
    return max(2, min(config.patience, math.ceil(epochs / 3)))


class Optimizer:
    """AdamW on the dense layers and small tables; lazy (sparse) Adam on the per-user and per-item
    tables when their gradients are sparse. A dense Adam step reads and writes every row of a
    100,000-user table on every step, which on a CPU costs more than the model itself; NCCL cannot
    all-reduce sparse gradients, so on CUDA the tables stay dense (GPU memory bandwidth makes that cheap)."""

    def __init__(self, module: nn.Module, id_tables: list[nn.Embedding], sparse: bool, lr: float, weight_decay: float) -> None:
        for table in id_tables:
            table.sparse = sparse
        sparse_ids = {id(t.weight) for t in id_tables} if sparse else set()
        tables: list[nn.Parameter] = []
        dense: list[nn.Parameter] = []
        lazy: list[nn.Parameter] = []
        for sub in module.modules():
            for p in sub.parameters(recurse=False):
                if not p.requires_grad:
                    continue
                if id(p) in sparse_ids:
                    lazy.append(p)
                else:
                    (tables if isinstance(sub, nn.Embedding) else dense).append(p)
        # Embeddings get no decoupled decay: it would shrink every row each step, rare items most.
        self.optimizers: list[torch.optim.Optimizer] = [
            torch.optim.AdamW(
                [{"params": tables, "weight_decay": 0.0}, {"params": dense, "weight_decay": weight_decay}],
                lr=lr,
                foreach=True,  # type: ignore[call-arg]  # torch 1.13's stub omits the foreach its AdamW takes
            )
        ]
        if lazy:
            self.optimizers.append(torch.optim.SparseAdam(lazy, lr=lr))

    def step(self, loss: torch.Tensor) -> torch.Tensor:
        """One update; the loss comes back detached, on its device: reading it as a number would make
        every CUDA step wait for the GPU."""
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()
        return loss.detach()


def exposure_offsets(
    dataset: Dataset, rows: torch.Tensor, items: int, correction: float, device: torch.device
) -> torch.Tensor | None:
    """`correction` × each item's centred log share of the impressions among `rows`; None when the
    correction is off or the set logs no impressions (a file of clicks or ratings shows nothing)."""
    shown = rows[dataset.columns["clicked"][rows] >= 0]
    if correction == 0 or shown.shape[0] == 0:
        return None
    counts = torch.bincount(dataset.columns["item"][shown], minlength=items)
    return (correction * log_exposure(counts)).to(device)


@dataclass
class Loop:
    """What differs between the two models' training: the rows an epoch goes over, the batch size and
    number of epochs, the generator the epoch orders are drawn from, and the step that turns a batch
    of rows into a loss (the optimizer's update is the loop's)."""

    model: str
    rows: torch.Tensor
    batch_size: int
    epochs: int
    generator: torch.Generator
    optimizer: Optimizer
    step: Callable[[torch.Tensor], torch.Tensor]
    after_epoch: Callable[[int], bool] | None = None
    trained: nn.Module | None = None
    score_start: bool = False


def _stops_after(loop: Loop, epoch: int, runtime: Runtime) -> bool:
    """Runs `after_epoch(epoch)` and says whether training stops, as the main rank decided."""
    if loop.after_epoch is None:
        return False
    stop = torch.tensor(float(bool(loop.after_epoch(epoch))), device=runtime.device)
    if runtime.distributed:
        dist.broadcast(stop, src=0)
    if loop.trained is not None:
        loop.trained.train()
    return bool(stop.item())


def run_epochs(loop: Loop, runtime: Runtime, phase: str, step_every: int) -> list[EpochStats]:
    """Trains `loop.epochs` epochs over `loop.rows`, each in a fresh order drawn from `loop.generator` and
    sharded across ranks, with progress lines. `after_epoch(epoch)` runs after each epoch and may
    evaluate (it puts `trained` back in training mode after); when it returns True (on the main rank,
    which every rank then follows) training stops there. With `score_start` it runs as
    `after_epoch(0)` before the first epoch too. A progress line every `step_every` steps."""
    stats: list[EpochStats] = []
    examples = loop.rows.shape[0]
    if loop.score_start and _stops_after(loop, 0, runtime):
        return stats
    for epoch in range(1, loop.epochs + 1):
        started = time.perf_counter()
        order = shard(loop.rows[torch.randperm(examples, generator=loop.generator)], runtime).to(runtime.device)
        steps = math.ceil(order.shape[0] / loop.batch_size)
        total = torch.zeros((), device=runtime.device)
        for step, batch in enumerate(batches(order, loop.batch_size), start=1):
            step_started = time.perf_counter()
            loss = loop.step(batch)
            total += loop.optimizer.step(loss)
            if runtime.is_main and (step % step_every == 0 or step == steps):
                _emit_step(loop.model, phase, epoch, step, steps, loss, step_started, batch.shape[0] * runtime.world_size)
        seconds = time.perf_counter() - started
        stats.append(EpochStats(seconds=seconds, examples=examples))
        if runtime.is_main:
            emit(
                "epoch",
                model=loop.model,
                phase=phase,
                epoch=epoch,
                epochs=loop.epochs,
                steps=steps,
                loss=float(total) / max(steps, 1),
                seconds=seconds,
                examples_per_s=examples / max(seconds, 1e-9),
            )
        if _stops_after(loop, epoch, runtime):
            break
    return stats


def train_retrieval(
    model: TwoTower,
    dataset: Dataset,
    rows: torch.Tensor,
    config: TrainConfig,
    runtime: Runtime,
    phase: str,
    after_epoch: Callable[[int], bool] | None = None,
    epochs: int | None = None,
    score_start: bool = False,
) -> list[EpochStats]:
    """Trains the two towers on the positives among `rows` for `epochs` (default: the configured or
    automatic count; 0 trains none, for a warm start whose best epoch was its start, but still fits the
    standardisation and the consumers table to `rows`). With `score_start` (a warm start), `after_epoch(0)`
    scores the model as it starts, before any epoch. `after_epoch(epoch)` runs after each epoch and may evaluate; when it returns
    True (on the main rank, which every rank then follows) training stops there."""
    columns = runtime.place(dataset.columns, (*USER_TOWER_INPUTS, "item", "weight"))
    catalog = runtime.place(dataset.catalog)
    positives = rows[dataset.columns["positive"][rows] == 1]
    items_total = dataset.vocabulary_size("item")
    counts = torch.bincount(dataset.columns["item"][positives], minlength=items_total)
    log_q_batch = log_q(counts, config.batch_size).to(runtime.device) if config.logq_correction else None
    log_q_pool = log_q_uniform(config.uniform_negatives, items_total - 1) if config.logq_correction else None
    exposure = exposure_offsets(dataset, rows, items_total, config.exposure_correction, runtime.device)
    if model.items.consumers.shape[1] > 0:
        columns_of = dataset.columns
        model.items.set_consumers(
            latest_consumers(
                columns_of["user"][positives], columns_of["item"][positives], columns_of["ts"][positives], items_total, model.items.consumers.shape[1]
            )
        )
    model.fit_standardization(dataset, rows)
    model.to(runtime.device).train()
    optimizer = Optimizer(model, model.id_tables(), runtime.sparse_gradients, config.lr, config.weight_decay)
    step_module: nn.Module = RetrievalStep(model)
    if runtime.distributed:
        step_module = DistributedDataParallel(step_module, find_unused_parameters=True)
    generator = torch.Generator().manual_seed(config.seed)
    draws = step_generator(generator, config.seed, runtime)

    def step(batch: torch.Tensor) -> torch.Tensor:
        count = batch.shape[0]
        user_inputs = model.user_inputs(columns, batch)
        pos_items = columns["item"][batch]
        pool_items = torch.randint(1, max(items_total, 2), (config.uniform_negatives,), generator=draws, device=runtime.device)
        candidate_items = torch.cat([pos_items, pool_items])
        keep_id = (torch.rand(candidate_items.shape[0], generator=draws, device=runtime.device) >= config.id_dropout).float()
        item_inputs = model.item_inputs(catalog, candidate_items)
        weights = columns["weight"][batch]
        with runtime.autocast():
            users, candidates = step_module(user_inputs, item_inputs, keep_id)
        users, candidates = users.float(), candidates.float()
        pos, pool = candidates[:count], candidates[count:]
        if config.loss == "sampled_softmax":
            loss = sampled_softmax(
                users,
                pos,
                pool,
                pos_items,
                pool_items,
                None if log_q_batch is None else log_q_batch[pos_items],
                log_q_pool,
                config.temperature,
                weights,
                None if exposure is None else exposure[candidate_items],
            )
        else:
            loss = cosine_contrastive(users, pos, pool, pos_items, pool_items, config.margin, config.negative_weight, weights)
        if config.embedding_l2 > 0:
            touched = model.users.user_id(user_inputs["user"]).pow(2).sum() + model.items.item_id(item_inputs["item"]).pow(2).sum()
            loss = loss + config.embedding_l2 * touched / count
        return loss

    loop = Loop(
        model="retrieval",
        rows=positives,
        batch_size=config.batch_size,
        epochs=retrieval_epochs(config, positives.shape[0]) if epochs is None else epochs,
        generator=generator,
        optimizer=optimizer,
        step=step,
        after_epoch=after_epoch,
        trained=model,
        score_start=score_start,
    )
    return run_epochs(loop, runtime, phase, config.step_every)


def exposure_rows(dataset: Dataset, rows: torch.Tensor) -> torch.Tensor:
    """Rows the ranker learns from: impressions (clicked or not) and rows with a known engagement."""
    columns = dataset.columns
    useful = (columns[Name.CLICKED][rows] >= 0) | torch.isfinite(columns[Name.ENGAGEMENT][rows])
    return rows[useful]


def ranker_losses(click: torch.Tensor, engagement: torch.Tensor, clicked: torch.Tensor, watched: torch.Tensor) -> torch.Tensor:
    """Click log-loss over the impressions plus engagement log-loss over the rows that know it, each
    a mean over its own rows (0 when a batch has none). Masks rather than selections, so no step has
    to read a mask's contents back from the GPU."""
    shown = (clicked >= 0).float()
    click_loss = F.binary_cross_entropy_with_logits(click, clicked.clamp(min=0).float(), reduction="none")
    known = torch.isfinite(watched)
    target = torch.where(known, watched, torch.zeros_like(watched)).clamp(0, 1)
    engagement_loss = F.binary_cross_entropy_with_logits(engagement, target, reduction="none")
    known_weight = known.float()
    return (click_loss * shown).sum() / shown.sum().clamp(min=1) + (engagement_loss * known_weight).sum() / known_weight.sum().clamp(min=1)


def train_ranker(
    ranker: Ranker, dataset: Dataset, rows: torch.Tensor, config: TrainConfig, runtime: Runtime, phase: str
) -> list[EpochStats]:
    """Trains the ranker on the exposures among `rows` for the configured epochs."""
    columns = runtime.place(dataset.columns, (*RANKER_INPUTS, Name.CLICKED, Name.ENGAGEMENT))
    exposures = exposure_rows(dataset, rows)
    if exposures.shape[0] == 0:
        return []
    ranker.fit_standardization(dataset, rows)
    ranker.to(runtime.device).train()
    optimizer = Optimizer(ranker, ranker.id_tables(), runtime.sparse_gradients, config.ranker_lr, config.weight_decay)
    module: nn.Module = DistributedDataParallel(ranker) if runtime.distributed else ranker

    def step(batch: torch.Tensor) -> torch.Tensor:
        with runtime.autocast():
            click, engagement = module(ranker.inputs(columns, batch))
        return ranker_losses(click.float(), engagement.float(), columns[Name.CLICKED][batch], columns[Name.ENGAGEMENT][batch])

    loop = Loop(
        model="ranker",
        rows=exposures,
        batch_size=config.ranker_batch_size,
        epochs=config.ranker_epochs,
        generator=torch.Generator().manual_seed(config.seed + 1),
        optimizer=optimizer,
        step=step,
    )
    return run_epochs(loop, runtime, phase, config.step_every)
