"""Evaluation on the temporal holdout.

Retrieval, full catalog: each holdout user with a positive in the holdout is
queried with the user-side inputs of their first holdout example (their state
just before it); relevant = their holdout positives not already positive in
the training part; every item is ranked except those training positives.
Recall@K = hits / |relevant|, NDCG@K binary with the ideal DCG over
min(K, |relevant|). The popularity baseline (training positives per item) and,
when given, the previously promoted model are scored on the same users.

Ranking: AUC (ties averaged) and log-loss of the click head on holdout
impressions, beside the CTR baseline (the item's smoothed CTR feature).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from .data import Dataset
from .feature_spec import Name
from .inputs import on
from .ranker import Ranker
from .towers import TwoTower


@dataclass
class Queries:
    rows: torch.Tensor
    relevant: list[torch.Tensor]
    seen: list[torch.Tensor]


def holdout_queries(dataset: Dataset, train_rows: torch.Tensor, holdout_rows: torch.Tensor, limit: int) -> Queries:
    columns = dataset.columns
    users, items, positive = columns["user"], columns["item"], columns["positive"]
    seen: dict[int, set[int]] = {}
    for row in train_rows[positive[train_rows] == 1].tolist():
        seen.setdefault(int(users[row]), set()).add(int(items[row]))
    first: dict[int, int] = {}
    relevant: dict[int, set[int]] = {}
    for row in holdout_rows.tolist():
        user = int(users[row])
        first.setdefault(user, row)
        if positive[row] == 1 and int(items[row]) not in seen.get(user, ()):
            relevant.setdefault(user, set()).add(int(items[row]))
    chosen = sorted(u for u in relevant if u != 0)[:limit]
    return Queries(
        rows=torch.tensor([first[u] for u in chosen], dtype=torch.long),
        relevant=[torch.tensor(sorted(relevant[u]), dtype=torch.long) for u in chosen],
        seen=[torch.tensor(sorted(seen.get(u, ())), dtype=torch.long) for u in chosen],
    )


@torch.no_grad()
def item_embeddings(model: TwoTower, catalog: dict[str, torch.Tensor], device: torch.device, batch: int = 8192) -> torch.Tensor:
    rows = catalog["catalog_language"].shape[0]
    out = []
    for start in range(0, rows, batch):
        items = torch.arange(start, min(rows, start + batch))
        out.append(model.items(on(model.item_inputs(catalog, items), device)).float().cpu())
    return torch.cat(out)


@torch.no_grad()
def user_embeddings(model: TwoTower, columns: dict[str, torch.Tensor], rows: torch.Tensor, device: torch.device) -> torch.Tensor:
    out = []
    for start in range(0, rows.shape[0], 4096):
        part = rows[start : start + 4096]
        out.append(model.users(on(model.user_inputs(columns, part), device)).float().cpu())
    return torch.cat(out) if out else torch.zeros(0, 1)


def _top_hits(scores_of: Callable[[int, int], torch.Tensor], queries: Queries, items: int, k_max: int):
    """Per query, in order: (its relevant items, 1.0/0.0 for each of its top `k_max` items), the
    unknown item and the query's seen items left out."""
    n = len(queries.relevant)
    for start in range(0, n, 256):
        end = min(n, start + 256)
        scores = scores_of(start, end).clone()
        scores[:, 0] = -math.inf
        for i in range(start, end):
            scores[i - start, queries.seen[i]] = -math.inf
        top = torch.topk(scores, k_max, dim=1).indices
        for i in range(start, end):
            relevant = set(queries.relevant[i].tolist())
            yield relevant, [1.0 if int(item) in relevant else 0.0 for item in top[i - start]]


def ranking_metrics(scores_of: Callable[[int, int], torch.Tensor], queries: Queries, items: int, ks: tuple[int, ...], prefix: str) -> dict[str, float]:
    """Recall@K and NDCG@K over the queries; `scores_of(start, end)` gives their [n, items] scores."""
    recall = {k: 0.0 for k in ks}
    ndcg = {k: 0.0 for k in ks}
    n = len(queries.relevant)
    for relevant, hits in _top_hits(scores_of, queries, items, min(max(ks), items - 1)):
        for k in ks:
            found = hits[:k]
            recall[k] += sum(found) / len(relevant)
            dcg = sum(h / math.log2(r + 2) for r, h in enumerate(found))
            ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
            ndcg[k] += dcg / ideal
    out = {}
    for k in ks:
        out[f"{prefix}recall_at_{k}"] = recall[k] / max(n, 1)
        out[f"{prefix}ndcg_at_{k}"] = ndcg[k] / max(n, 1)
    return out


def model_retrieval_metrics(
    user_vectors: torch.Tensor, item_vectors: torch.Tensor, queries: Queries, ks: tuple[int, ...], prefix: str = ""
) -> dict[str, float]:
    return ranking_metrics(lambda s, e: user_vectors[s:e] @ item_vectors.t(), queries, item_vectors.shape[0], ks, prefix)


def holdout_recall_at_20(model: TwoTower, dataset: Dataset, queries: Queries, device: torch.device) -> float:
    """The model's Recall@20 on the holdout queries, in eval mode: what early stopping and the settings
    search both follow epoch by epoch (the training loop puts the model back in training mode).

    >>> holdout_recall_at_20(model, dataset, queries, torch.device("cpu"))  # doctest: +SKIP
    0.2809
    """
    model.eval()
    users = user_embeddings(model, dataset.columns, queries.rows, device)
    items = item_embeddings(model, dataset.catalog, device)
    return model_retrieval_metrics(users, items, queries, (20,))["recall_at_20"]


def user_recalls(user_vectors: torch.Tensor, item_vectors: torch.Tensor, queries: Queries, k: int) -> torch.Tensor:
    """Each query's own Recall@k, in query order: two models scored on the same queries are compared
    user by user (`paired_standard_error`)."""
    hits = _top_hits(lambda s, e: user_vectors[s:e] @ item_vectors.t(), queries, item_vectors.shape[0], min(k, item_vectors.shape[0] - 1))
    return torch.tensor([sum(found) / len(relevant) for relevant, found in hits], dtype=torch.double)


def paired_standard_error(first: torch.Tensor, second: torch.Tensor) -> float:
    """The standard error of the mean of `first - second` over paired per-user scores (0 for one user).

    >>> paired_standard_error(torch.tensor([0.5, 0.0, 1.0]), torch.tensor([0.5, 0.5, 0.5]))
    0.2886751345948129
    """
    differences = (first - second).double()
    if differences.shape[0] < 2:
        return 0.0
    return float(differences.std(unbiased=True) / math.sqrt(differences.shape[0]))


def popularity_metrics(dataset: Dataset, train_rows: torch.Tensor, queries: Queries, ks: tuple[int, ...]) -> dict[str, float]:
    columns = dataset.columns
    items = dataset.vocabulary_size("item")
    positives = train_rows[columns["positive"][train_rows] == 1]
    counts = torch.bincount(columns["item"][positives], minlength=items).double()
    # A tiny, fixed tie-break by index keeps the baseline deterministic.
    scores = counts - torch.arange(items, dtype=torch.double) * 1e-9
    return ranking_metrics(lambda s, e: scores.unsqueeze(0).expand(e - s, -1), queries, items, ks, "popularity_")


def auc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve by the rank-sum formula, ties given their average rank."""
    positives = int(labels.sum())
    negatives = labels.shape[0] - positives
    if positives == 0 or negatives == 0:
        return math.nan
    order = torch.argsort(scores.double())
    sorted_scores = scores.double()[order]
    _, inverse, counts = torch.unique_consecutive(sorted_scores, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).double()
    ranks = (ends - (counts.double() - 1) / 2)[inverse]
    positive_ranks = ranks[labels[order] == 1].sum()
    return float((positive_ranks - positives * (positives + 1) / 2) / (positives * negatives))


def logloss(probabilities: torch.Tensor, labels: torch.Tensor) -> float:
    p = probabilities.double().clamp(1e-7, 1 - 1e-7)
    y = labels.double()
    return float(-(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean())


def item_click_rate(dataset: Dataset, train_rows: torch.Tensor) -> torch.Tensor:
    """Per item, the training part's clicks over impressions, smoothed towards the overall rate
    (20 pseudo-impressions), so an item shown twice is not ranked first for one lucky click."""
    columns = dataset.columns
    shown = train_rows[columns["clicked"][train_rows] >= 0]
    items = dataset.vocabulary_size("item")
    impressions = torch.bincount(columns["item"][shown], minlength=items).double()
    clicks = torch.bincount(columns["item"][shown], weights=columns["clicked"][shown].double(), minlength=items)
    overall = float(clicks.sum() / impressions.sum().clamp_min(1.0))
    return ((clicks + 20 * overall) / (impressions + 20)).float()


@torch.no_grad()
def ranker_metrics(
    ranker: Ranker, dataset: Dataset, train_rows: torch.Tensor, holdout_rows: torch.Tensor, device: torch.device
) -> dict[str, float]:
    """Click-head AUC and log-loss on the holdout impressions, beside the CTR baseline: the
    `smoothed_ctr` item feature when the set has one, else the training part's per-item click rate."""
    columns = dataset.columns
    shown = holdout_rows[columns["clicked"][holdout_rows] >= 0]
    labels = columns["clicked"][shown].long()
    if shown.shape[0] == 0 or int(labels.sum()) in (0, shown.shape[0]):
        return {}
    probabilities = []
    for start in range(0, shown.shape[0], 8192):
        part = shown[start : start + 8192]
        click, _ = ranker(on(ranker.inputs(columns, part), device))
        probabilities.append(torch.sigmoid(click.float()).cpu())
    p = torch.cat(probabilities)
    names = dataset.dense_names(Name.ITEM_DENSE)
    if "smoothed_ctr" in names:
        ctr = columns[Name.ITEM_DENSE][shown, names.index("smoothed_ctr")]
    else:
        ctr = item_click_rate(dataset, train_rows)[columns["item"][shown]]
    return {
        "ranker_auc": auc(p, labels),
        "ranker_logloss": logloss(p, labels),
        "ctr_baseline_auc": auc(ctr, labels),
        "ctr_baseline_logloss": logloss(ctr, labels),
        "ranker_holdout_impressions": float(shown.shape[0]),
    }
