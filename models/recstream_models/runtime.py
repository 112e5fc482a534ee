"""Where training runs: seeds, threads, the device (CUDA with bf16 autocast, or CPU,
deterministic) and, under torchrun, the process group for DistributedDataParallel."""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import distributed as dist

from .config import TrainConfig


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    rank: int
    world_size: int

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def sparse_gradients(self) -> bool:
        """Sparse gradients for the id tables: on the CPU (gloo all-reduces them), not on CUDA (NCCL cannot)."""
        return self.device.type == "cpu"

    def autocast(self) -> contextlib.AbstractContextManager:
        """bf16 autocast on CUDA (Hopper and Ampere run it at full speed); nothing on CPU."""
        if self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def name(self) -> str:
        if self.device.type == "cuda":
            suffix = f" x{self.world_size}" if self.distributed else ""
            return f"cuda:{torch.cuda.get_device_name(self.device)}{suffix}"
        return "cpu"

    def place(self, tensors: dict[str, torch.Tensor], names: tuple[str, ...] | None = None) -> dict[str, torch.Tensor]:
        """The columns a loop gathers its batches from, on the device it computes on. On CUDA they
        are copied once, so each step gathers on the GPU rather than copying its batch across PCIe
        and waiting for it; on the CPU they are the same tensors."""
        if self.device.type == "cpu":
            return tensors
        return {name: tensors[name].to(self.device) for name in (names or tuple(tensors))}


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def start(config: TrainConfig) -> Runtime:
    """Seeds once, sets threads, picks the device; joins the process group under torchrun (WORLD_SIZE > 1)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    else:
        torch.set_num_threads(os.cpu_count() or 1)
    wants_cuda = config.device == "cuda" or (config.device == "auto" and torch.cuda.is_available())
    if config.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("RECSTREAM_DEVICE=cuda but torch sees no CUDA device")
    if wants_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    else:
        device = torch.device("cpu")
        # Same seed, same data, same metrics: CPU kernels are deterministic with this on.
        torch.use_deterministic_algorithms(True)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if wants_cuda else "gloo")
    seed_everything(config.seed)
    return Runtime(device=device, rank=rank, world_size=world_size)


def finish(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def shard(rows: torch.Tensor, runtime: Runtime) -> torch.Tensor:
    """This rank's share of an epoch's (already shuffled, same on every rank) rows, equal sizes."""
    if not runtime.distributed:
        return rows
    per_rank = rows.shape[0] // runtime.world_size
    return rows[runtime.rank * per_rank : (runtime.rank + 1) * per_rank]


def batches(rows: torch.Tensor, size: int) -> Iterator[torch.Tensor]:
    for start_at in range(0, rows.shape[0], size):
        yield rows[start_at : start_at + size]
