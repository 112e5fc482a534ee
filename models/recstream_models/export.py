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
from .feature_spec import ARTIFACT_FILES, ITEM_TOWER_INPUTS, MODEL_OUTPUTS, RANKER_INPUTS, USER_TOWER_INPUTS
from .inputs import Features, positional
from .previous import WEIGHTS, weights_npz
from .ranker import Ranker
from .towers import TwoTower

OPSET = 13


class _PositionalExport(nn.Module):
    """What `torch.onnx.export` traces: the model's inputs positionally, in the contract's order (`names`,
    which become the ONNX input names), handed to the model by name; `probabilities` turns the ranker's
    logits into the probabilities its export returns. The model is held under `attribute`, which prefixes
    the graph's node names: "tower" or "ranker", so a model exports to the same bytes as before."""

    def __init__(self, model: nn.Module, names: tuple[str, ...], attribute: str, probabilities: bool = False) -> None:
        super().__init__()
        self.attribute, self.names, self.probabilities = attribute, names, probabilities
        self.add_module(attribute, model)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        outputs = getattr(self, self.attribute)(dict(zip(self.names, inputs)))
        return tuple(torch.sigmoid(o) for o in outputs) if self.probabilities else outputs


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
    item_names = tuple(ITEM_TOWER_INPUTS)
    exports: list[tuple[str, nn.Module, Features, tuple[str, ...], list[str]]] = [
        ("user_tower", _PositionalExport(model.users, USER_TOWER_INPUTS, "tower"), model.user_inputs(columns, rows), USER_TOWER_INPUTS, list(MODEL_OUTPUTS["user_tower"])),
        ("item_tower", _PositionalExport(model.items, item_names, "tower"), model.item_inputs(catalog, columns["item"][rows]), item_names, list(MODEL_OUTPUTS["item_tower"])),
        ("ranker", _PositionalExport(ranker, RANKER_INPUTS, "ranker", probabilities=True), ranker.inputs(columns, rows), RANKER_INPUTS, list(MODEL_OUTPUTS["ranker"])),
    ]
    parity = {}
    for name, module, features, input_names, output_names in exports:
        module.eval()
        inputs = positional(features, input_names)
        _onnx(module, inputs, input_names, output_names, os.path.join(staging, ARTIFACT_FILES[name]))
        outputs = module(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        parity[name] = {
            "inputs": {n: _as_json(t) for n, t in zip(input_names, inputs)},
            "outputs": {n: _as_json(t.float()) for n, t in zip(output_names, outputs)},
        }

    embeddings = item_embeddings(model, catalog, torch.device("cpu")).numpy().astype(np.float32)
    np.save(os.path.join(staging, ARTIFACT_FILES["item_embeddings"]), embeddings)
    np.savez(
        os.path.join(staging, WEIGHTS),
        **weights_npz(config.dim, {"two_tower": model.state_dict(), "ranker": ranker.state_dict()}),
    )
    for name, value in (
        (ARTIFACT_FILES["dataset"], dataset.manifest),
        (ARTIFACT_FILES["metrics"], metrics),
        (ARTIFACT_FILES["params"], params),
        (ARTIFACT_FILES["parity"], parity),
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
