"""The training loops: retrieval (two-tower) on positives, the ranker on exposures."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.parallel import DistributedDataParallel

from .config import TrainConfig
from .data import Dataset
from .losses import cosine_contrastive, log_q, log_q_uniform, sampled_softmax
from .progress import emit
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

    def forward(
        self, user_inputs: tuple[torch.Tensor, ...], item_inputs: tuple[torch.Tensor, ...], keep_id: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.users(*user_inputs), self.model.items(*item_inputs, keep_id=keep_id)


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


def retrieval_epochs(config: TrainConfig, positives: int) -> int:
    """The configured epochs, or about 2.5 million positives seen in all (3 to 30 epochs)."""
    if config.epochs > 0:
        return config.epochs
    return max(3, min(30, round(2_500_000 / max(positives, 1))))


class Optimizer:
    """AdamW on the dense layers and small tables; lazy (sparse) Adam on the per-user and per-item
    tables when their gradients are sparse. A dense Adam step reads and writes every row of a
    100,000-user table on every step, which on a CPU costs more than the model itself; NCCL cannot
    all-reduce sparse gradients, so on CUDA the tables stay dense (GPU memory bandwidth makes that cheap)."""

    def __init__(self, module: nn.Module, id_tables: list[nn.Embedding], sparse: bool, lr: float, weight_decay: float) -> None:
        for table in id_tables:
            table.sparse = sparse
        sparse_ids = {id(t.weight) for t in id_tables} if sparse else set()
        tables, dense, lazy = [], [], []
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
                foreach=True,
            )
        ]
        if lazy:
            self.optimizers.append(torch.optim.SparseAdam(lazy, lr=lr))

    def step(self, loss: torch.Tensor) -> float:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in self.optimizers:
            optimizer.step()
        return float(loss.detach())


def train_retrieval(
    model: TwoTower,
    dataset: Dataset,
    rows: torch.Tensor,
    config: TrainConfig,
    runtime: Runtime,
    phase: str,
) -> list[EpochStats]:
    columns, catalog = dataset.columns, dataset.catalog
    positives = rows[columns["positive"][rows] == 1]
    items_total = dataset.vocabulary_size("item")
    counts = torch.bincount(columns["item"][positives], minlength=items_total)
    log_q_batch = log_q(counts, config.batch_size).to(runtime.device) if config.logq_correction else None
    log_q_pool = log_q_uniform(config.uniform_negatives, items_total - 1) if config.logq_correction else None
    model.fit_standardization(dataset, rows)
    model.to(runtime.device)
    optimizer = Optimizer(model, model.id_tables(), runtime.sparse_gradients, config.lr, config.weight_decay)
    step_module: nn.Module = RetrievalStep(model)
    if runtime.distributed:
        step_module = DistributedDataParallel(step_module, find_unused_parameters=True)
    generator = torch.Generator().manual_seed(config.seed)
    epochs = retrieval_epochs(config, positives.shape[0])
    stats: list[EpochStats] = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        order = shard(positives[torch.randperm(positives.shape[0], generator=generator)], runtime)
        steps = math.ceil(order.shape[0] / config.batch_size)
        total = 0.0
        for step, batch in enumerate(batches(order, config.batch_size), start=1):
            step_started = time.perf_counter()
            user_inputs = tuple(t.to(runtime.device) for t in model.user_inputs(columns, batch))
            positive_items = columns["item"][batch]
            uniform_items = torch.randint(1, max(items_total, 2), (config.uniform_negatives,), generator=generator)
            candidate_items = torch.cat([positive_items, uniform_items])
            keep_id = (torch.rand(candidate_items.shape[0], generator=generator) >= config.id_dropout).float()
            item_inputs = tuple(t.to(runtime.device) for t in model.item_inputs(catalog, candidate_items))
            weights = columns["weight"][batch].to(runtime.device)
            with runtime.autocast():
                users, candidates = step_module(user_inputs, item_inputs, keep_id.to(runtime.device))
            users, candidates = users.float(), candidates.float()
            count = batch.shape[0]
            pos, pool = candidates[:count], candidates[count:]
            pos_items, pool_items = positive_items.to(runtime.device), uniform_items.to(runtime.device)
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
                )
            else:
                loss = cosine_contrastive(
                    users, pos, pool, pos_items, pool_items, config.margin, config.negative_weight, weights
                )
            if config.embedding_l2 > 0:
                touched = model.users.user_id(user_inputs[0]).pow(2).sum() + model.items.item_id(item_inputs[0]).pow(2).sum()
                loss = loss + config.embedding_l2 * touched / count
            total += optimizer.step(loss)
            if runtime.is_main and (step % config.step_every == 0 or step == steps):
                _emit_step("retrieval", phase, epoch, step, steps, loss, step_started, count * runtime.world_size)
        seconds = time.perf_counter() - started
        stats.append(EpochStats(seconds=seconds, examples=positives.shape[0]))
        if runtime.is_main:
            emit(
                "epoch",
                model="retrieval",
                phase=phase,
                epoch=epoch,
                epochs=epochs,
                steps=steps,
                loss=total / max(steps, 1),
                seconds=seconds,
                examples_per_s=positives.shape[0] / max(seconds, 1e-9),
            )
    return stats


def exposure_rows(dataset: Dataset, rows: torch.Tensor) -> torch.Tensor:
    """Rows the ranker learns from: impressions (clicked or not) and rows with a known engagement."""
    columns = dataset.columns
    useful = (columns["clicked"][rows] >= 0) | torch.isfinite(columns["engagement"][rows])
    return rows[useful]


def ranker_losses(click: torch.Tensor, engagement: torch.Tensor, clicked: torch.Tensor, watched: torch.Tensor) -> torch.Tensor:
    loss = click.new_zeros(())
    shown = clicked >= 0
    if bool(shown.any()):
        loss = loss + F.binary_cross_entropy_with_logits(click[shown], clicked[shown].float())
    known = torch.isfinite(watched)
    if bool(known.any()):
        loss = loss + F.binary_cross_entropy_with_logits(engagement[known], watched[known].clamp(0, 1))
    return loss


def train_ranker(
    ranker: Ranker, dataset: Dataset, rows: torch.Tensor, config: TrainConfig, runtime: Runtime, phase: str
) -> list[EpochStats]:
    columns = dataset.columns
    exposures = exposure_rows(dataset, rows)
    if exposures.shape[0] == 0:
        return []
    ranker.fit_standardization(dataset, rows)
    ranker.to(runtime.device)
    optimizer = Optimizer(ranker, ranker.id_tables(), runtime.sparse_gradients, config.ranker_lr, config.weight_decay)
    module: nn.Module = DistributedDataParallel(ranker) if runtime.distributed else ranker
    generator = torch.Generator().manual_seed(config.seed + 1)
    stats: list[EpochStats] = []
    for epoch in range(1, config.ranker_epochs + 1):
        started = time.perf_counter()
        order = shard(exposures[torch.randperm(exposures.shape[0], generator=generator)], runtime)
        steps = math.ceil(order.shape[0] / config.ranker_batch_size)
        total = 0.0
        for step, batch in enumerate(batches(order, config.ranker_batch_size), start=1):
            step_started = time.perf_counter()
            inputs = tuple(t.to(runtime.device) for t in ranker.inputs(columns, batch))
            with runtime.autocast():
                click, engagement = module(*inputs)
            loss = ranker_losses(
                click.float(),
                engagement.float(),
                columns["clicked"][batch].to(runtime.device),
                columns["engagement"][batch].to(runtime.device),
            )
            total += optimizer.step(loss)
            if runtime.is_main and (step % config.step_every == 0 or step == steps):
                _emit_step("ranker", phase, epoch, step, steps, loss, step_started, batch.shape[0] * runtime.world_size)
        seconds = time.perf_counter() - started
        stats.append(EpochStats(seconds=seconds, examples=exposures.shape[0]))
        if runtime.is_main:
            emit(
                "epoch",
                model="ranker",
                phase=phase,
                epoch=epoch,
                epochs=config.ranker_epochs,
                steps=steps,
                loss=total / max(steps, 1),
                seconds=seconds,
                examples_per_s=exposures.shape[0] / max(seconds, 1e-9),
            )
    return stats
