"""A synthetic training set in the trainer's format, with structure a model can learn.

Users like one or two of twenty categories; items belong to one or two and have
a long-tailed popularity. A positive event picks one of the user's categories
(80 %) or any category (20 %), then an item of it by popularity; an impression
shows an item by popularity alone and is clicked with a probability that grows
with the user's affinity for its categories. Used by the engine's tests and by
`recstream bench train`; the dense feature names are the trainer's.
"""

from __future__ import annotations

import json
import os

import numpy as np

from .data import FORMAT
from .feature_spec import (
    CATALOG_COLUMNS,
    CATALOG_DENSE,
    CROSS_DENSE,
    DENSE,
    EXAMPLE_COLUMNS,
    HISTORY_LENGTH,
    ITEM_DENSE,
    MAX_CATEGORIES,
    MAX_TAGS,
    USER_DENSE,
    Name,
)

TYPES = ["impression", "view", "click", "like", "dislike", "rate", "add_to_list", "share", "complete", "skip"]
CATEGORIES = 20


def _save(out: str, name: str, array: np.ndarray, columns: dict) -> None:
    np.save(os.path.join(out, f"{name}.npy"), np.ascontiguousarray(array))
    columns[name] = {"file": f"{name}.npy", "dtype": str(array.dtype), "shape": list(array.shape)}


def write_synthetic(out: str, users: int, items: int, examples: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    os.makedirs(out, exist_ok=True)
    # Row 0 of every vocabulary is unknown; real ids start at 1.
    item_categories = np.zeros((items + 1, MAX_CATEGORIES), dtype=np.int64)
    first = rng.integers(1, CATEGORIES + 1, size=items)
    second = np.where(rng.random(items) < 0.4, rng.integers(1, CATEGORIES + 1, size=items), 0)
    item_categories[1:, 0], item_categories[1:, 1] = first, second
    popularity = 1.0 / np.power(rng.permutation(items) + 1.0, 0.8)
    members = [np.flatnonzero((item_categories[1:, 0] == c) | (item_categories[1:, 1] == c)) + 1 for c in range(CATEGORIES + 1)]
    cdfs = [np.cumsum(popularity[m - 1]) / popularity[m - 1].sum() if len(m) else None for m in members]
    all_cdf = np.cumsum(popularity) / popularity.sum()
    tastes = np.stack([rng.integers(1, CATEGORIES + 1, size=users + 1), rng.integers(1, CATEGORIES + 1, size=users + 1)], 1)
    activity = rng.lognormal(0, 1, size=users)
    user = rng.choice(np.arange(1, users + 1), size=examples, p=activity / activity.sum())
    ts = np.sort(rng.integers(1_735_689_600_000, 1_735_689_600_000 + 30 * 86_400_000, size=examples))
    impression = rng.random(examples) < 0.35

    def affinity(u: np.ndarray, i: np.ndarray) -> np.ndarray:
        cats = item_categories[i][:, :2]
        return ((cats == tastes[u][:, :1]) | (cats == tastes[u][:, 1:])).any(1).astype(np.float32)

    chosen_category = np.where(rng.random(examples) < 0.8, tastes[user, rng.integers(0, 2, size=examples)], 0)
    item = np.zeros(examples, dtype=np.int64)
    for category in range(CATEGORIES + 1):
        picks = np.flatnonzero((chosen_category == category) & ~impression)
        cdf = cdfs[category] if category > 0 else None
        if category == 0 or cdf is None:
            item[picks] = np.searchsorted(all_cdf, rng.random(len(picks))) + 1
        else:
            item[picks] = members[category][np.searchsorted(cdf, rng.random(len(picks)))]
    shown = np.flatnonzero(impression)
    item[shown] = np.searchsorted(all_cdf, rng.random(len(shown))) + 1
    item = np.minimum(item, items)
    liked = affinity(user, item)
    clicked = np.where(impression, (rng.random(examples) < 1 / (1 + np.exp(-(3 * liked - 2)))).astype(np.int8), -1).astype(np.int8)
    kinds = rng.choice([1, 2, 3, 8, 9], size=examples, p=[0.25, 0.4, 0.1, 0.15, 0.1])
    kind = np.where(impression, 0, kinds).astype(np.int64)
    label = np.where(impression, clicked.clip(0), np.where(kind == 9, 0.0, 1.0)).astype(np.float32)
    positive = (label >= 0.5).astype(np.uint8)
    weight = np.where(kind == 8, 2.0, 1.0).astype(np.float32)
    engagement = np.where(np.isin(kind, [1, 8, 9]), np.clip(0.3 + 0.6 * liked + rng.normal(0, 0.1, examples), 0, 1), np.nan).astype(np.float32)

    history_items = np.zeros((examples, HISTORY_LENGTH), dtype=np.int64)
    history_types = np.zeros((examples, HISTORY_LENGTH), dtype=np.int64)
    recent: dict[int, list[tuple[int, int]]] = {}
    counts = np.zeros(users + 1, dtype=np.int64)
    event_count = np.zeros(examples, dtype=np.float32)
    for row in range(examples):
        u = int(user[row])
        past = recent.get(u)
        if past:
            history_items[row, : len(past)] = [p[0] for p in past]
            history_types[row, : len(past)] = [p[1] for p in past]
        event_count[row] = counts[u]
        counts[u] += 1
        if kind[row] != 0:
            entry = (int(item[row]), int(kind[row]))
            past = [p for p in (past or []) if p[0] != entry[0]]
            recent[u] = [entry, *past][:HISTORY_LENGTH]

    user_dense = rng.normal(0, 1, size=(examples, len(USER_DENSE))).astype(np.float32)
    user_dense[:, 0] = np.log1p(event_count)
    item_dense = rng.normal(0, 1, size=(examples, len(ITEM_DENSE))).astype(np.float32)
    item_dense[:, ITEM_DENSE.index("smoothed_ctr")] = (0.05 + 0.1 * popularity[item - 1] / popularity.max()).astype(np.float32)
    cross_dense = np.zeros((examples, len(CROSS_DENSE)), dtype=np.float32)
    cross_dense[:, 0] = liked * 0.5 + rng.normal(0, 0.25, examples)
    context = np.stack(
        [rng.integers(1, 5, examples), rng.integers(1, 11, examples), rng.integers(1, 5, examples), (ts // 3_600_000) % 24 + 1], 1
    ).astype(np.int64)
    user_cat = np.stack([rng.integers(1, 11, examples), rng.integers(1, 6, examples), rng.integers(1, 7, examples)], 1).astype(np.int64)

    # Keyed by the spec's names and written in its column order: the draws above fix the values, so the
    # order the columns are listed in here changes nothing.
    examples_by_name = {
        Name.USER: user.astype(np.int64), Name.ITEM: item, Name.TS: ts.astype(np.int64), Name.TYPE: kind,
        Name.LABEL: label, Name.POSITIVE: positive, Name.WEIGHT: weight, Name.CLICKED: clicked, Name.ENGAGEMENT: engagement,
        Name.HISTORY_ITEMS: history_items, Name.HISTORY_TYPES: history_types, Name.USER_CAT: user_cat,
        Name.CONTEXT_CAT: context, Name.USER_DENSE: user_dense, Name.ITEM_CATEGORIES: item_categories[item],
        Name.ITEM_LANGUAGE: rng.integers(1, 6, examples).astype(np.int64), Name.ITEM_DENSE: item_dense,
        Name.CROSS_DENSE: cross_dense,
    }
    columns: dict = {}
    for name in EXAMPLE_COLUMNS:
        _save(out, name, examples_by_name[name], columns)
    tags = np.zeros((items + 1, MAX_TAGS), dtype=np.int64)
    tags[1:, 0] = rng.integers(1, 51, items)
    catalog_dense = rng.normal(0, 1, size=(items + 1, len(CATALOG_DENSE))).astype(np.float32)
    catalog_dense[0] = 0
    available = np.ones(items + 1, dtype=np.uint8)
    available[0] = 0
    catalog_by_name = {
        Name.CATALOG_CATEGORIES: item_categories, Name.CATALOG_TAGS: tags,
        Name.CATALOG_LANGUAGE: np.r_[0, rng.integers(1, 6, items)].astype(np.int64),
        Name.CATALOG_DENSE: catalog_dense, Name.CATALOG_AVAILABLE: available,
    }
    catalog: dict = {}
    for name in CATALOG_COLUMNS:
        _save(out, name, catalog_by_name[name], catalog)
    vocab = lambda prefix, n: ["<unk>", *(f"{prefix}{i}" for i in range(n))]  # noqa: E731
    manifest = {
        "format": FORMAT,
        "examples": examples,
        "history_length": HISTORY_LENGTH,
        "max_categories": MAX_CATEGORIES,
        "max_tags": MAX_TAGS,
        "vocabularies": {
            "user": vocab("u", users), "item": vocab("i", items),
            "category": ["<pad>", *(f"c{i}" for i in range(CATEGORIES))], "tag": ["<pad>", *(f"t{i}" for i in range(50))],
            "language": vocab("l", 5), "country": vocab("C", 10), "device": vocab("d", 4),
            "surface": vocab("s", 4), "age_bucket": vocab("a", 6), "type": TYPES,
        },
        "dense": DENSE,
        "columns": columns,
        "catalog_columns": catalog,
        "lineage": {"snapshots": [], "event_time_start": int(ts[0]), "event_time_end": int(ts[-1])},
    }
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
