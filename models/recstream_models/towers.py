"""The retrieval two-tower model: a user tower and an item tower with L2-normalised outputs.

Each output carries one more coordinate so that a dot product also adds an item
prior: items are `[v, T·b]` (v unit-length, b the item's learned popularity prior,
T the softmax temperature) and users `[u, 1]`, so `user · item = u·v + T·b`,
which ranks exactly as the training logit `u·v / T + b`. Without the prior,
unit-length vectors can only express "popular with everyone" as a direction
every user shares, and a popularity-shaped holdout favours the popularity
baseline over the model. Inner-product ANN search serves both coordinates alike.

The item id table is shared: the user tower pools the embeddings of the items
in the user's recent history from the same table, so a user's newest events
move their embedding without retraining. Both towers add the id embedding to
what their other features say (not an MLP over the concatenation alone), so
an unknown id (index 0) still gets a useful embedding from metadata, and the
plain id two-tower is the special case where the other features say nothing.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .config import TrainConfig
from .data import Dataset
from .feature_spec import Name
from .inputs import Features, item_features, lane_rows, model_input, user_features, vocabulary

ITEM_TOWER, USER_TOWER = "item_tower", "user_tower"
"""The towers' names in the spec's MODEL_INPUTS."""


DENSE_LIMIT = 3.0
"""The user tower's standardised numbers are clipped to ± this many standard deviations."""


class Standardize(nn.Module):
    mean: torch.Tensor
    std: torch.Tensor

    """(x - mean) / std with constants from the training rows, kept as buffers so exports carry them."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(width))
        self.register_buffer("std", torch.ones(width))

    def fit(self, values: torch.Tensor) -> None:
        if values.shape[0] == 0:
            return
        self.mean.copy_(values.float().mean(0))
        self.std.copy_(values.float().std(0, unbiased=False).clamp_min(1e-3))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return (values - self.mean) / self.std


def masked_mean(embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(embedded.dtype)
    return (embedded * weights).sum(1) / weights.sum(1).clamp_min(1.0)


def _embedding(rows: int, dim: int, padding: bool = True) -> nn.Embedding:
    table = nn.Embedding(max(rows, 1), dim, padding_idx=0 if padding else None)
    nn.init.normal_(table.weight, std=0.05)
    if padding:
        with torch.no_grad():
            table.weight[0].zero_()
    return table


class ItemTower(nn.Module):
    consumers: torch.Tensor
    temperature: torch.Tensor

    """item id + categories + tags + language + catalog numbers → [L2-normalised embedding, T · prior].

    `prior_scale` is the softmax temperature T, or 0 for a model trained with the cosine loss, which
    learns no prior (its scores are plain cosines). It is kept under the name `temperature` in the
    state, which earlier model files use."""

    TABLES = {"item_id": Name.ITEM, "prior_id": Name.ITEM, "category": Name.CATEGORIES, "tag": Name.TAGS, "language": Name.LANGUAGE}
    """Each embedding table and the input whose values are its rows: the spec's vocabulary of that input
    sizes the table and matches its rows in a warm start. Table names are the model files' state keys."""

    def __init__(
        self, items: int, categories: int, tags: int, languages: int, dense: int, dim: int, prior_scale: float, consumers: int = 0
    ) -> None:
        super().__init__()
        self.register_buffer("temperature", torch.tensor(float(prior_scale)))
        # Each item's latest consumers (graph.py), filled from the training rows; width 0 = no smoothing.
        self.register_buffer("consumers", torch.zeros(max(items, 1), consumers, dtype=torch.long))
        self.user_ids: nn.Embedding | None = None
        self.prior_id = nn.Embedding(max(items, 1), 1)
        nn.init.zeros_(self.prior_id.weight)
        self.prior_metadata = nn.Linear(3 * dim + dense, 1)
        self.item_id = _embedding(items, dim)
        self.category = _embedding(categories, dim)
        self.tag = _embedding(tags, dim)
        self.language = _embedding(languages, dim)
        self.standardize = Standardize(dense)
        self.metadata = nn.Sequential(nn.Linear(3 * dim + dense, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(self, features: Features, keep_id: torch.Tensor | None = None) -> torch.Tensor:
        """`features`: ITEM_TOWER_INPUTS by name; `keep_id` (per row, 0 or 1) drops id embeddings while training."""
        item, categories, tags = features[Name.ITEM], features[Name.CATEGORIES], features[Name.TAGS]
        ident = self.item_id(item)
        if self.user_ids is not None:
            consumers = self.consumers[item]
            ident = ident + masked_mean(self.user_ids(consumers), consumers > 0)
        if keep_id is not None:
            ident = ident * keep_id.unsqueeze(-1)
        joined = torch.cat(
            [
                masked_mean(self.category(categories), categories > 0),
                masked_mean(self.tag(tags), tags > 0),
                self.language(features[Name.LANGUAGE]),
                self.standardize(features[Name.CATALOG_DENSE]),
            ],
            dim=-1,
        )
        prior = self.prior_metadata(joined)
        prior_id = self.prior_id(item)
        prior = prior + (prior_id * keep_id.unsqueeze(-1) if keep_id is not None else prior_id)
        vector = F.normalize(ident + self.metadata(joined), dim=-1)
        return torch.cat([vector, prior * self.temperature], dim=-1)

    def attach_users(self, user_ids: nn.Embedding) -> None:
        """The user id table whose rows the consumers index, shared with the user tower. Only a tower
        with consumers holds it: a second name for the table in the state of every model would make
        model files written before the consumers table fail to load."""
        if self.consumers.shape[1] > 0:
            self.user_ids = user_ids

    def set_consumers(self, table: torch.Tensor) -> None:
        """Replaces the consumers table (same width), e.g. with one built from other training rows."""
        self.consumers = table.to(self.consumers.device)


class UserTower(nn.Module):
    """user id + pooled recent history (weighted by type) + profile + context + numbers → [L2-normalised embedding, 1]."""

    TABLES = {"user_id": Name.USER, "type_weight": Name.HISTORY_TYPES}
    """Each embedding table and the input whose values are its rows (as ItemTower.TABLES)."""
    LANE_TABLES = (Name.USER_CAT, Name.CONTEXT_CAT)
    """The inputs embedded lane by lane: a list of tables named after the input, one per lane in lane
    order, each sized by its lane's vocabulary (a lane with none, the hour, has HOURS rows)."""

    def __init__(self, dataset: Dataset, item_ids: nn.Embedding, dim: int, dense_dropout: float) -> None:
        super().__init__()
        self.dense_dropout = dense_dropout
        size = dataset.vocabulary_size

        def rows(table: str) -> int:
            return size(vocabulary(USER_TOWER, self.TABLES[table]))

        self.user_id = _embedding(rows("user_id"), dim)
        self.item_ids = item_ids
        self.type_weight = nn.Embedding(rows("type_weight"), 1)
        nn.init.zeros_(self.type_weight.weight)
        self.user_cat = nn.ModuleList(_embedding(n, dim) for n in lane_rows(USER_TOWER, Name.USER_CAT, size))
        self.context_cat = nn.ModuleList(_embedding(n, dim) for n in lane_rows(USER_TOWER, Name.CONTEXT_CAT, size))
        dense = len(dataset.dense_names(Name.USER_DENSE))
        self.standardize = Standardize(dense)
        self.mlp = nn.Sequential(nn.Linear(4 * dim + dense, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))

    def forward(self, features: Features) -> torch.Tensor:
        """`features`: USER_TOWER_INPUTS by name."""
        history_items, user_cat, context_cat = features[Name.HISTORY_ITEMS], features[Name.USER_CAT], features[Name.CONTEXT_CAT]
        ident = self.user_id(features[Name.USER])
        # softplus(0) / ln 2 = 1: every type starts with weight 1 and learns its own.
        weights = F.softplus(self.type_weight(features[Name.HISTORY_TYPES]).squeeze(-1)) * 1.4426950408889634
        mask = (history_items > 0).to(weights.dtype) * weights
        history = (self.item_ids(history_items) * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp_min(1.0)
        profile = sum(table(user_cat[:, i]) for i, table in enumerate(self.user_cat))
        context = sum(table(context_cat[:, i]) for i, table in enumerate(self.context_cat))
        # Clipped: online a user's numbers are read as of the request, often further from their last
        # event than any training row was (a day later, where the training rows were seconds apart),
        # and an unclipped z-score of 20 outweighs the rest of the tower (Last.fm as one file:
        # Recall@20 0.228 to 0.273 with the serving time alone).
        dense = self.standardize(features[Name.USER_DENSE]).clamp(-DENSE_LIMIT, DENSE_LIMIT)
        if self.training and self.dense_dropout > 0:
            keep = torch.rand(dense.shape[0], 1, device=dense.device) >= self.dense_dropout
            dense = dense * keep
        joined = torch.cat([ident, history, profile, context, dense], dim=-1)
        vector = F.normalize(ident + history + self.mlp(joined), dim=-1)
        return torch.cat([vector, torch.ones_like(vector[:, :1])], dim=-1)


class TwoTower(nn.Module):
    def __init__(self, dataset: Dataset, dim: int, prior_scale: float, dense_dropout: float = 0.0, consumers: int = 0) -> None:
        super().__init__()

        def rows(table: str) -> int:
            return dataset.vocabulary_size(vocabulary(ITEM_TOWER, ItemTower.TABLES[table]))

        self.items = ItemTower(
            rows("item_id"),
            rows("category"),
            rows("tag"),
            rows("language"),
            len(dataset.dense_names(Name.CATALOG_DENSE)),
            dim,
            prior_scale,
            consumers,
        )
        self.users = UserTower(dataset, self.items.item_id, dim, dense_dropout)
        self.items.attach_users(self.users.user_id)

    @staticmethod
    def from_config(dataset: Dataset, config: TrainConfig) -> "TwoTower":
        prior_scale = config.temperature if config.loss == "sampled_softmax" else 0.0
        return TwoTower(dataset, config.dim, prior_scale, config.dense_dropout, config.graph_consumers)

    @staticmethod
    def user_inputs(columns: dict[str, torch.Tensor], rows: torch.Tensor) -> Features:
        return user_features(columns, rows)

    @staticmethod
    def item_inputs(catalog: dict[str, torch.Tensor], items: torch.Tensor) -> Features:
        return item_features(catalog, items)

    def fit_standardization(self, dataset: Dataset, rows: torch.Tensor) -> None:
        self.users.standardize.fit(dataset.columns[Name.USER_DENSE][rows])
        self.items.standardize.fit(dataset.catalog[Name.CATALOG_DENSE][1:])

    def embedding_vocabularies(self) -> dict[str, str]:
        """Each embedding table (by module name) whose rows are the values of a training-set vocabulary,
        and that vocabulary, from the spec's vocabulary of the input the table reads: a warm start (warm.py)
        matches their rows by value. The hour lane of the context has a fixed size and no vocabulary; the
        shared tables appear under their first names.

        >>> TwoTower(dataset, 32, 0.15).embedding_vocabularies()["users.user_id"]  # doctest: +SKIP
        'user'
        """
        return {
            **{f"items.{table}": vocabulary(ITEM_TOWER, name) for table, name in ItemTower.TABLES.items()},
            **{f"users.{table}": vocabulary(USER_TOWER, name) for table, name in UserTower.TABLES.items()},
            **{
                f"users.{name}.{lane}": lane_vocabulary
                for name in UserTower.LANE_TABLES
                for lane, lane_vocabulary in enumerate(model_input(USER_TOWER, name).vocabularies)
                if lane_vocabulary is not None
            },
        }

    def id_tables(self) -> list[nn.Embedding]:
        """The tables with one row per user or item: the ones worth sparse gradients."""
        return [self.users.user_id, self.items.item_id, self.items.prior_id]

