"""Warm starts: a new model's towers initialised from the promoted model's weights.

The promoted model was trained over an earlier set's vocabularies: users and items have come since
and some have gone, so a row index means another value in each. Every embedding row whose value is
in both vocabularies is copied by value; a new value's row keeps its fresh initialisation. Every
other parameter (the towers' layers, the hour-of-day table) is copied when its shape is the same.
Buffers are not: the standardisation constants and the consumers table are fit to the new training
rows, and the prior's scale follows this run's loss.
"""

from __future__ import annotations

import torch

from .previous import PreviousModel
from .progress import emit
from .towers import TwoTower


def _matched_rows(current: list[str], previous: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The row indices of the values in both vocabularies: in `current`, and in `previous`."""
    index = {value: row for row, value in enumerate(previous)}
    pairs = [(row, index[value]) for row, value in enumerate(current) if value in index]
    if not pairs:
        return torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)
    rows = torch.tensor(pairs, dtype=torch.long)
    return rows[:, 0], rows[:, 1]


@torch.no_grad()
def warm_start(model: TwoTower, vocabularies: dict[str, list[str]], previous: PreviousModel) -> dict:
    """Copies `previous`'s weights into `model` (built over `vocabularies`, the new set's), rows matched
    by value, and returns what was carried over, for params.json: per table the rows copied and the
    rows it has (row 0, the unknown value, counts when both have it), the count of other parameters
    copied, and those left fresh because their shape differs (another `dim`, other dense inputs).

    >>> report = warm_start(TwoTower.from_config(dataset, config), dataset.manifest["vocabularies"], load_previous(promoted))  # doctest: +SKIP
    >>> report["rows"]["items.item_id"]  # doctest: +SKIP
    {'carried': 2841, 'rows': 3015}
    """
    old = previous.model
    old_vocabularies = previous.manifest["vocabularies"]
    rows: dict[str, dict[str, int]] = {}
    skipped: list[str] = []
    tables = set()
    for name, vocabulary in model.embedding_vocabularies().items():
        target, source = _weight(model, name), _weight(old, name)
        tables.add(id(target))
        if target.shape[1:] != source.shape[1:]:
            skipped.append(f"{name}.weight")
            continue
        into, out_of = _matched_rows(vocabularies[vocabulary], old_vocabularies[vocabulary])
        target[into] = source[out_of].to(target.dtype)
        rows[name] = {"carried": int(into.shape[0]), "rows": int(target.shape[0])}
    sources = dict(old.named_parameters())
    copied = 0
    for name, target in model.named_parameters():
        if id(target) in tables:
            continue
        parameter = sources.get(name)
        if parameter is None or parameter.shape != target.shape:
            skipped.append(name)
            continue
        target.copy_(parameter)
        copied += 1
    report = {"rows": rows, "dense_copied": copied, "fresh": skipped}
    emit("warm_start", **report)
    return report


def _weight(model: torch.nn.Module, name: str) -> torch.Tensor:
    """The weight of embedding table `name` of `model`."""
    table = model.get_submodule(name)
    if not isinstance(table, torch.nn.Embedding):
        raise TypeError(f"{name} is a {type(table).__name__}, not an embedding table")
    return table.weight
