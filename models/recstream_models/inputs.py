"""Model inputs by name: each model takes a dict of tensors keyed by the feature names of the contract
(feature_spec.py, generated from the declaration), never a row of positional tensors, so adding a feature
changes the declaration and the model that reads it, not every signature in between."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .feature_spec import HOURS, ITEM_TOWER_INPUTS, MODEL_INPUTS, RANKER_INPUTS, USER_TOWER_INPUTS, Input

Features = dict[str, torch.Tensor]
"""A batch of model inputs: feature name -> tensor, rows first."""


def select(columns: dict[str, torch.Tensor], names: tuple[str, ...], rows: torch.Tensor) -> Features:
    """The rows `rows` of the example columns `names`."""
    return {name: columns[name][rows] for name in names}


def user_features(columns: dict[str, torch.Tensor], rows: torch.Tensor) -> Features:
    """The user tower's inputs for example rows."""
    return select(columns, USER_TOWER_INPUTS, rows)


def ranker_features(columns: dict[str, torch.Tensor], rows: torch.Tensor) -> Features:
    """The ranker's inputs for example rows."""
    return select(columns, RANKER_INPUTS, rows)


def item_features(catalog: dict[str, torch.Tensor], items: torch.Tensor, ids: torch.Tensor | None = None) -> Features:
    """The item tower's inputs for catalog rows `items`; its `item` input is `ids` when given (another
    vocabulary's index of each row), else the rows themselves."""
    return {
        name: (items if ids is None else ids) if column is None else catalog[column][items]
        for name, column in ITEM_TOWER_INPUTS.items()
    }


def on(features: Features, device: torch.device) -> Features:
    """The same inputs on `device`."""
    return {name: tensor.to(device) for name, tensor in features.items()}


def positional(features: Features, names: tuple[str, ...]) -> tuple[torch.Tensor, ...]:
    """The inputs in the order `names` lists them: how an exported model takes them."""
    return tuple(features[name] for name in names)


def model_input(model: str, name: str) -> Input:
    """Input `name` of `model` (a key of MODEL_INPUTS), as the generated spec declares it."""
    for declared in MODEL_INPUTS[model]:
        if declared.name == name:
            return declared
    raise KeyError(f"{model} has no input {name}")


def vocabulary(model: str, name: str) -> str:
    """The one vocabulary every lane of input `name` of `model` indexes: what sizes the table embedding it."""
    vocabularies = model_input(model, name).vocabularies
    if len(vocabularies) != 1 or vocabularies[0] is None:
        raise ValueError(f"{model} input {name} has no single vocabulary: {vocabularies}")
    return vocabularies[0]


def lane_rows(model: str, name: str, vocabulary_size: Callable[[str], int]) -> list[int]:
    """The rows of each table of input `name` of `model` embedded lane by lane, in lane order: the size of
    the lane's vocabulary, HOURS for the lane that indexes none (the hour of day)."""
    return [HOURS if lane is None else vocabulary_size(lane) for lane in model_input(model, name).vocabularies]
