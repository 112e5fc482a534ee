"""The interaction graph the item tower smooths over: each item's latest consumers.

LightGCN (He et al., SIGIR 2020) shows that an item's embedding gains from its neighbours' in the
user–item graph, most of all for the long tail, where an item's own id embedding sees few
gradients. The item tower adds the mean id embedding of the users who consumed the item (one hop,
from the user tower's own table), so items consumed by the same users move together. The table is
built from the rows a model trains on, never from held-out ones, and travels with the model as a
buffer, so the exported item tower and the exported item embeddings both carry it.
"""

from __future__ import annotations

import torch


def latest_consumers(users: torch.Tensor, items: torch.Tensor, ts: torch.Tensor, item_rows: int, width: int) -> torch.Tensor:
    """`[item_rows, width]`: per item, the users of its latest `width` positive examples (newest
    first; 0 pads), from parallel `users`, `items` and `ts` of positive rows. Row 0, the unknown
    item, stays empty: a new item has no consumers online either.

    >>> latest_consumers(torch.tensor([5, 6, 7]), torch.tensor([1, 1, 2]), torch.tensor([10, 20, 30]), 3, 2)
    tensor([[0, 0],
            [6, 5],
            [7, 0]])
    """
    table = torch.zeros(item_rows, width, dtype=torch.long)
    if width == 0 or users.numel() == 0:
        return table
    # Newest first within each item: sort by time descending, then stably by item.
    by_time = torch.argsort(ts, descending=True, stable=True)
    order = by_time[torch.argsort(items[by_time], stable=True)]
    sorted_items = items[order]
    first = torch.ones_like(sorted_items, dtype=torch.bool)
    first[1:] = sorted_items[1:] != sorted_items[:-1]
    starts = torch.cummax(torch.where(first, torch.arange(order.numel()), torch.zeros_like(order)), 0).values
    rank = torch.arange(order.numel()) - starts
    keep = (rank < width) & (sorted_items > 0)
    table[sorted_items[keep], rank[keep]] = users[order][keep]
    return table
