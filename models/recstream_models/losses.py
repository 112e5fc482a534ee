"""Retrieval losses over L2-normalised user and item embeddings.

Both see the same candidates: the batch's positive items (each row's positive is
the other rows' negative) plus a shared pool of items drawn uniformly from the
catalog. Candidates equal to a row's own positive item ("accidental hits") are
masked for that row.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F


def sampled_softmax(
    users: torch.Tensor,
    positives: torch.Tensor,
    uniform: torch.Tensor,
    positive_items: torch.Tensor,
    uniform_items: torch.Tensor,
    log_q_batch: torch.Tensor | None,
    log_q_uniform: float | None,
    temperature: float,
    weights: torch.Tensor,
    exposure: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy of each user's positive among all candidates, with log-Q correction.

    With correction the logit of a candidate is reduced by the log of its chance
    of being a candidate (in-batch: the item's share of positives times the batch
    size; uniform: pool size over catalog size), which removes the popularity bias
    in-batch negatives bring (Yi et al., RecSys 2019; Yang et al., WWW 2020).

    `exposure`, per candidate, is a known offset added to its training logit (the
    scaled log of how often the item was shown): the towers then learn what is
    clicked beyond how often it was shown, and serve that without the offset.
    """
    candidates = torch.cat([positives, uniform], dim=0)
    # The temperature scales the (small) user matrix, not the batch × candidates logits.
    scaled = users / temperature
    offset = torch.zeros(candidates.shape[0], dtype=users.dtype, device=users.device)
    if log_q_batch is not None and log_q_uniform is not None:
        offset = offset - torch.cat([log_q_batch, torch.full_like(uniform_items, log_q_uniform, dtype=users.dtype)])
    if exposure is not None:
        offset = offset + exposure
    logits = torch.addmm(offset.unsqueeze(0).expand(users.shape[0], -1), scaled, candidates.t())
    candidate_items = torch.cat([positive_items, uniform_items])
    accidental = positive_items.unsqueeze(1) == candidate_items.unsqueeze(0)
    rows = torch.arange(users.shape[0], device=users.device)
    accidental[rows, rows] = False
    logits = logits.masked_fill(accidental, -1e9)
    losses = F.cross_entropy(logits, rows, reduction="none")
    return (losses * weights).sum() / weights.sum()


def cosine_contrastive(
    users: torch.Tensor,
    positives: torch.Tensor,
    uniform: torch.Tensor,
    positive_items: torch.Tensor,
    uniform_items: torch.Tensor,
    margin: float,
    negative_weight: float,
    weights: torch.Tensor,
) -> torch.Tensor:
    """SimpleX's cosine contrastive loss (Mao et al., CIKM 2021): pull the positive's cosine
    to 1, push every negative's cosine below the margin; the mean over many negatives.
    Cosines only: the towers' last coordinate (the item prior) is left out."""
    users, positives, uniform = users[:, :-1], positives[:, :-1], uniform[:, :-1]
    positive = 1 - (users * positives).sum(-1)
    candidates = torch.cat([positives, uniform], dim=0)
    cosines = users @ candidates.t()
    candidate_items = torch.cat([positive_items, uniform_items])
    negative = positive_items.unsqueeze(1) != candidate_items.unsqueeze(0)
    hinge = F.relu(cosines - margin) * negative
    negatives = hinge.sum(-1) / negative.sum(-1).clamp_min(1)
    losses = positive + negative_weight * negatives
    return (losses * weights).sum() / weights.sum()


def log_q(item_counts: torch.Tensor, batch_size: int) -> torch.Tensor:
    """log(chance an item is among a batch's positives), per item, from its share of positives."""
    share = item_counts.double() / max(1.0, float(item_counts.sum()))
    return torch.log((share * batch_size).clamp_min(1e-12)).float()


def log_exposure(shown: torch.Tensor) -> torch.Tensor:
    """log of each item's share of impressions, one more impression for every item (an item never
    shown is not impossible to like); centred, since a constant offset changes no softmax."""
    logs = torch.log((shown.double() + 1) / float(shown.sum() + shown.shape[0]))
    return (logs - logs.mean()).float()


def log_q_uniform(pool: int, catalog: int) -> float:
    return math.log(max(pool, 1) / max(catalog, 1))
