"""Exports a trained model version (models/FORMAT.md, "Artifact directory").

The artifacts are written into a temporary directory beside `out` and renamed
into place at the end, so a directory named `out` is always complete.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data import Dataset
from .evaluate import item_embeddings
from .previous import WEIGHTS, weights_npz
from .ranker import RANKER_INPUTS, Ranker
from .towers import ITEM_INPUTS, USER_INPUTS, TwoTower

OPSET = 13


class _UserTowerExport(nn.Module):
    def __init__(self, model: TwoTower) -> None:
        super().__init__()
        self.tower = model.users

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.tower(*inputs)


class _ItemTowerExport(nn.Module):
    def __init__(self, model: TwoTower) -> None:
        super().__init__()
        self.tower = model.items

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.tower(*inputs)


class _RankerExport(nn.Module):
    def __init__(self, ranker: Ranker) -> None:
        super().__init__()
        self.ranker = ranker

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        click, engagement = self.ranker(*inputs)
        return torch.sigmoid(click), torch.sigmoid(engagement)


def _onnx(module: nn.Module, inputs: tuple[torch.Tensor, ...], names: tuple[str, ...], outputs: list[str], path: str) -> None:
    options = {}
    # torch >= 2.5 can export through dynamo; the TorchScript exporter is the one torch 1.13 has too.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False
    torch.onnx.export(
        module,
        inputs,
        path,
        input_names=list(names),
        output_names=outputs,
        dynamic_axes={name: {0: "batch"} for name in [*names, *outputs]},
        opset_version=OPSET,
        do_constant_folding=True,
        **options,
    )


def _sample_rows(dataset: Dataset, count: int = 4) -> torch.Tensor:
    rows = dataset.examples
    return torch.linspace(0, rows - 1, steps=min(count, rows)).long()


def _as_json(tensor: torch.Tensor) -> dict:
    dtype = "int64" if tensor.dtype == torch.int64 else "float32"
    return {"dtype": dtype, "shape": list(tensor.shape), "data": tensor.reshape(-1).tolist()}


@torch.no_grad()
def export(
    out: str,
    model: TwoTower,
    ranker: Ranker,
    dataset: Dataset,
    config: TrainConfig,
    metrics: dict[str, float],
    params: dict,
) -> None:
    model = model.cpu().eval()
    ranker = ranker.cpu().eval()
    staging = f"{out}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    columns, catalog = dataset.columns, dataset.catalog
    rows = _sample_rows(dataset)
    user_inputs = model.user_inputs(columns, rows)
    items = columns["item"][rows]
    item_inputs = model.item_inputs(catalog, items)
    ranker_inputs = ranker.inputs(columns, rows)

    exports = [
        ("user_tower", _UserTowerExport(model), user_inputs, USER_INPUTS, ["embedding"]),
        ("item_tower", _ItemTowerExport(model), item_inputs, ITEM_INPUTS, ["embedding"]),
        ("ranker", _RankerExport(ranker), ranker_inputs, RANKER_INPUTS, ["click", "engagement"]),
    ]
    parity = {}
    for name, module, inputs, input_names, output_names in exports:
        module.eval()
        _onnx(module, inputs, input_names, output_names, os.path.join(staging, f"{name}.onnx"))
        outputs = module(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        parity[name] = {
            "inputs": {n: _as_json(t) for n, t in zip(input_names, inputs)},
            "outputs": {n: _as_json(t.float()) for n, t in zip(output_names, outputs)},
        }

    embeddings = item_embeddings(model, catalog, torch.device("cpu")).numpy().astype(np.float32)
    np.save(os.path.join(staging, "item_embeddings.npy"), embeddings)
    np.savez(
        os.path.join(staging, WEIGHTS),
        **weights_npz(config.dim, {"two_tower": model.state_dict(), "ranker": ranker.state_dict()}),
    )
    for name, value in (
        ("dataset.json", dataset.manifest),
        ("metrics.json", metrics),
        ("params.json", params),
        ("parity.json", parity),
    ):
        with open(os.path.join(staging, name), "w", encoding="utf-8") as handle:
            json.dump(value, handle)
    _sync_tree(staging)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(staging, out)
    _sync(os.path.dirname(os.path.abspath(out)))


def _sync(path: str) -> None:
    """fsync a file or directory: its data, or its entries, survive a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_tree(directory: str) -> None:
    """Every file of `directory`, then the directory itself: before the rename that publishes it."""
    for name in os.listdir(directory):
        _sync(os.path.join(directory, name))
    _sync(directory)
