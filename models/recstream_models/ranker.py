"""A DLRM-style ranker (Naumov et al., 2019): embeddings of the categorical features,
a bottom MLP over the dense ones, pairwise dot products between all of them, a top MLP
plus a linear path over the dense features, with two heads: `click` (trained on impressions: clicked or not) and `engagement`
(the watch fraction, where one is known)."""

from __future__ import annotations

import torch
from torch import nn

from .data import Dataset
from .feature_spec import CONTEXT_CAT_VOCABULARIES, HOURS, RANKER_DENSE, USER_CAT_VOCABULARIES
from .inputs import Features, ranker_features
from .towers import Standardize, masked_mean


def _table(rows: int, dim: int) -> nn.Embedding:
    table = nn.Embedding(max(rows, 1), dim)
    nn.init.normal_(table.weight, std=0.05)
    return table


class Ranker(nn.Module):
    def __init__(self, dataset: Dataset, dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        vocab = dataset.vocabulary_size
        self.user = _table(vocab("user"), dim)
        self.item = _table(vocab("item"), dim)
        self.category = _table(vocab("category"), dim)
        self.language = _table(vocab("language"), dim)
        self.user_cat = nn.ModuleList(_table(vocab(name), dim) for name in USER_CAT_VOCABULARIES)
        self.context_cat = nn.ModuleList([*(_table(vocab(name), dim) for name in CONTEXT_CAT_VOCABULARIES), _table(HOURS, dim)])
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
        history_items, item_categories = features["history_items"], features["item_categories"]
        user_cat, context_cat = features["user_cat"], features["context_cat"]
        history = masked_mean(self.item(history_items), history_items > 0)
        dense = self.standardize(torch.cat([features[n] for n in RANKER_DENSE], dim=-1))
        bottom = self.bottom(dense)
        vectors = [
            bottom,
            self.user(features["user"]),
            self.item(features["item"]),
            masked_mean(self.category(item_categories), item_categories > 0),
            self.language(features["item_language"]),
            history,
            *(table(user_cat[:, i]) for i, table in enumerate(self.user_cat)),
            *(table(context_cat[:, i]) for i, table in enumerate(self.context_cat)),
        ]
        stacked = self.dropout(torch.stack(vectors, dim=1))
        dots = torch.bmm(stacked, stacked.transpose(1, 2))[:, self.pair_i, self.pair_j]
        logits = self.top(torch.cat([bottom, dots], dim=-1)) + self.wide(dense)
        return logits[:, 0], logits[:, 1]
