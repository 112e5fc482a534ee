"""A DLRM-style ranker (Naumov et al., 2019): embeddings of the categorical features,
a bottom MLP over the dense ones, pairwise dot products between all of them, a top MLP
plus a linear path over the dense features, with two heads: `click` (trained on impressions: clicked or not) and `engagement`
(the watch fraction, where one is known)."""

from __future__ import annotations

import torch
from torch import nn

from .data import Dataset
from .feature_spec import RANKER_DENSE, Name
from .inputs import Features, lane_rows, ranker_features, vocabulary
from .towers import Standardize, masked_mean

RANKER = "ranker"
"""The ranker's name in the spec's MODEL_INPUTS."""


def _table(rows: int, dim: int) -> nn.Embedding:
    table = nn.Embedding(max(rows, 1), dim)
    nn.init.normal_(table.weight, std=0.05)
    return table


class Ranker(nn.Module):
    def __init__(self, dataset: Dataset, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        # Each table is sized by the spec's vocabulary of the input it embeds.
        size = dataset.vocabulary_size

        def rows(name: str) -> int:
            return size(vocabulary(RANKER, name))

        self.user = _table(rows(Name.USER), dim)
        self.item = _table(rows(Name.ITEM), dim)
        self.category = _table(rows(Name.ITEM_CATEGORIES), dim)
        self.language = _table(rows(Name.ITEM_LANGUAGE), dim)
        self.user_cat = nn.ModuleList(_table(n, dim) for n in lane_rows(RANKER, Name.USER_CAT, size))
        self.context_cat = nn.ModuleList(_table(n, dim) for n in lane_rows(RANKER, Name.CONTEXT_CAT, size))
        dense = sum(len(dataset.dense_names(n)) for n in RANKER_DENSE)
        self.standardize = Standardize(dense)
        self.bottom = nn.Sequential(nn.Linear(dense, 64), nn.ReLU(), nn.Linear(64, dim), nn.ReLU())
        # bottom, user, item, categories, language and history, then one per profile and context table.
        fields = 6 + len(self.user_cat) + len(self.context_cat)
        pairs = fields * (fields - 1) // 2
        self.top = nn.Sequential(nn.Linear(pairs + dim, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 2))
        # A linear path over the dense features beside the deep one (Wide & Deep): a feature that is
        # predictive on its own is used from the first steps instead of after the embeddings settle.
        self.wide = nn.Linear(dense, 2)
        upper = torch.triu_indices(fields, fields, offset=1)
        self.register_buffer("pair_i", upper[0])
        self.register_buffer("pair_j", upper[1])

    def fit_standardization(self, dataset: Dataset, rows: torch.Tensor) -> None:
        self.standardize.fit(self.dense(dataset.columns, rows))

    def id_tables(self) -> list[nn.Embedding]:
        """The tables with one row per user or item: the ones worth sparse gradients."""
        return [self.user, self.item]

    @staticmethod
    def dense(columns: dict[str, torch.Tensor], rows: torch.Tensor) -> torch.Tensor:
        return torch.cat([columns[n][rows] for n in RANKER_DENSE], dim=-1)

    @staticmethod
    def inputs(columns: dict[str, torch.Tensor], rows: torch.Tensor) -> Features:
        return ranker_features(columns, rows)

    def forward(self, features: Features) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits of the click and engagement heads; `features`: RANKER_INPUTS by name."""
        history_items, item_categories = features[Name.HISTORY_ITEMS], features[Name.ITEM_CATEGORIES]
        user_cat, context_cat = features[Name.USER_CAT], features[Name.CONTEXT_CAT]
        history = masked_mean(self.item(history_items), history_items > 0)
        dense = self.standardize(torch.cat([features[n] for n in RANKER_DENSE], dim=-1))
        bottom = self.bottom(dense)
        vectors = [
            bottom,
            self.user(features[Name.USER]),
            self.item(features[Name.ITEM]),
            masked_mean(self.category(item_categories), item_categories > 0),
            self.language(features[Name.ITEM_LANGUAGE]),
            history,
            *(table(user_cat[:, i]) for i, table in enumerate(self.user_cat)),
            *(table(context_cat[:, i]) for i, table in enumerate(self.context_cat)),
        ]
        stacked = self.dropout(torch.stack(vectors, dim=1))
        dots = torch.bmm(stacked, stacked.transpose(1, 2))[:, self.pair_i, self.pair_j]
        logits = self.top(torch.cat([bottom, dots], dim=-1)) + self.wide(dense)
        return logits[:, 0], logits[:, 1]
