"""Generated from features/feature-service.ts by `npm run gen:features` (scripts/gen-feature-spec.mjs): do not edit.

The feature contract as the engine reads it: the training set's columns, the vocabulary bounding each
categorical lane, and each model's inputs in the order its ONNX export takes them. Regenerate with
`npm run gen:features` after changing the declaration.
"""

from __future__ import annotations

from typing import NamedTuple

HISTORY_LENGTH = 20
MAX_CATEGORIES = 4
MAX_TAGS = 4
# Values of the hour-of-day lane of context_cat: 0 unknown, then UTC hour + 1.
HOURS = 25
VOCABULARY_KINDS = ("user", "item", "category", "tag", "language", "country", "device", "surface", "age_bucket")
# The vocabulary of the enum lanes (type, history_types): the interaction types, in enum order.
ENUM_VOCABULARY = "type"


class Name:
    """Each column's and model input's name, so the engine reads one through the spec, never by hand."""

    USER = "user"
    ITEM = "item"
    TS = "ts"
    TYPE = "type"
    LABEL = "label"
    POSITIVE = "positive"
    WEIGHT = "weight"
    CLICKED = "clicked"
    ENGAGEMENT = "engagement"
    HISTORY_ITEMS = "history_items"
    HISTORY_TYPES = "history_types"
    USER_CAT = "user_cat"
    CONTEXT_CAT = "context_cat"
    USER_DENSE = "user_dense"
    ITEM_CATEGORIES = "item_categories"
    ITEM_LANGUAGE = "item_language"
    ITEM_DENSE = "item_dense"
    CROSS_DENSE = "cross_dense"
    CATALOG_CATEGORIES = "catalog_categories"
    CATALOG_TAGS = "catalog_tags"
    CATALOG_LANGUAGE = "catalog_language"
    CATALOG_DENSE = "catalog_dense"
    CATALOG_AVAILABLE = "catalog_available"
    CATEGORIES = "categories"
    TAGS = "tags"
    LANGUAGE = "language"


# The lanes of the numeric columns (the manifest's `dense`).
USER_DENSE = ("log_event_count", "log_decayed_1h", "log_decayed_1d", "log_decayed_7d", "log_impressions_7d", "log_clicks_7d", "log_completes_7d", "log_skips_7d", "mean_watch_fraction", "has_watch_fraction", "log_session_count", "log_session_events", "log_hours_since_active", "is_first_event", "log_minutes_in_session")
ITEM_DENSE = ("log_popularity_total", "log_popularity_1h", "log_popularity_1d", "log_popularity_7d", "log_impressions", "log_clicks", "smoothed_ctr", "completion_rate", "mean_rating_5", "has_rating", "log_unique_users", "trending_score", "log_hours_since_interaction", "never_interacted", "log_popularity_in_country", "log_duration_min", "log_days_since_release")
CROSS_DENSE = ("category_affinity_sum", "category_affinity_max", "same_language", "in_recent_history", "recency_in_history")
CATALOG_DENSE = ("log_duration_min", "has_duration", "release_decades_since_1970", "has_release", "maturity_level")

# Example columns, one row per training example: name -> (dtype, ndim).
EXAMPLE_COLUMNS = {
    "user": ("int64", 1),  # categorical: user_id in the user vocabulary
    "item": ("int64", 1),  # categorical: item_id in the item vocabulary
    "ts": ("int64", 1),  # timestamp: event time, epoch ms
    "type": ("int64", 1),  # enum: InteractionType index, in enum order
    "label": ("float32", 1),  # label: labels.label
    "positive": ("uint8", 1),  # label: labels.positive as 0/1 (retrieval positives)
    "weight": ("float32", 1),  # label: labels.weight
    "clicked": ("int8", 1),  # label: impressions: 1 clicked, 0 not; -1 for other types
    "engagement": ("float32", 1),  # label: labels.watch_fraction, NaN when unknown
    "history_items": ("int64", 2),  # id_list: recent_items item ids, most recent first, 0-padded
    "history_types": ("int64", 2),  # enum_list: recent_items interaction type indices (0 where padded: mask by history_items > 0)
    "user_cat": ("int64", 2),  # categorical: country, language, age_bucket of the user profile
    "context_cat": ("int64", 2),  # categorical: device, country, surface of the context; hour of day (UTC) + 1
    "user_dense": ("float32", 2),  # numeric: USER_DENSE, log1p of counts, ages in hours or minutes; standardised in the model
    "item_categories": ("int64", 2),  # id_list: the first categories of the item as of the event, 0-padded
    "item_language": ("int64", 1),  # categorical: the item language as of the event
    "item_dense": ("float32", 2),  # numeric: ITEM_DENSE, the item dynamic features before the event; standardised in the model
    "cross_dense": ("float32", 2),  # numeric: CROSS_DENSE, category affinity, same language, position in history
}
# Catalog columns, one row per item vocabulary entry: name -> (dtype, ndim).
CATALOG_COLUMNS = {
    "catalog_categories": ("int64", 2),  # id_list: the first categories of the item, 0-padded
    "catalog_tags": ("int64", 2),  # id_list: the first tags of the item, 0-padded
    "catalog_language": ("int64", 1),  # categorical: the item language
    "catalog_dense": ("float32", 2),  # numeric: CATALOG_DENSE, duration, release, maturity; standardised in the model
    "catalog_available": ("uint8", 1),  # label: 1 when the item is in the catalog and available
}
# Which vocabulary bounds each categorical column (per lane for multi-lane columns; None: the hour).
VOCABULARY_OF: dict[str, list[str | None]] = {
    "user": ["user"],
    "item": ["item"],
    "history_items": ["item"],
    "user_cat": ["country", "language", "age_bucket"],
    "context_cat": ["device", "country", "surface", None],
    "item_categories": ["category"],
    "item_language": ["language"],
    "catalog_categories": ["category"],
    "catalog_tags": ["tag"],
    "catalog_language": ["language"],
}

# Each model's inputs, in the order of its ONNX export.
USER_TOWER_INPUTS = ("user", "history_items", "history_types", "user_cat", "context_cat", "user_dense")
RANKER_INPUTS = ("user", "history_items", "history_types", "user_cat", "context_cat", "user_dense", "item", "item_categories", "item_language", "item_dense", "cross_dense")
# The item tower's inputs and the catalog column each is read from (None: the catalog row itself).
ITEM_TOWER_INPUTS = {
    "item": None,
    "categories": "catalog_categories",
    "tags": "catalog_tags",
    "language": "catalog_language",
    "catalog_dense": "catalog_dense",
}
# The numeric columns and their lanes (the manifest's `dense`).
DENSE = {
    "user_dense": USER_DENSE,
    "item_dense": ITEM_DENSE,
    "cross_dense": CROSS_DENSE,
    "catalog_dense": CATALOG_DENSE,
}


class Input(NamedTuple):
    """A model input: its name, its kind, the column it is read from (None: the catalog row itself), the
    vocabulary of each lane (one entry when every lane shares it; None: a lane that indexes none) and the
    names of its numeric lanes: what the engine sizes its embedding tables and numeric layers by."""

    name: str
    kind: str
    column: str | None
    vocabularies: tuple[str | None, ...]
    dense: tuple[str, ...]


# Each model's inputs, in the order of its ONNX export, by the model's name (its file's key in ARTIFACT_FILES).
MODEL_INPUTS = {
    "user_tower": (
        Input("user", "categorical", "user", ("user",), ()),
        Input("history_items", "id_list", "history_items", ("item",), ()),
        Input("history_types", "enum_list", "history_types", ("type",), ()),
        Input("user_cat", "categorical", "user_cat", ("country", "language", "age_bucket"), ()),
        Input("context_cat", "categorical", "context_cat", ("device", "country", "surface", None), ()),
        Input("user_dense", "numeric", "user_dense", (None,), USER_DENSE),
    ),
    "item_tower": (
        Input("item", "categorical", None, ("item",), ()),
        Input("categories", "id_list", "catalog_categories", ("category",), ()),
        Input("tags", "id_list", "catalog_tags", ("tag",), ()),
        Input("language", "categorical", "catalog_language", ("language",), ()),
        Input("catalog_dense", "numeric", "catalog_dense", (None,), CATALOG_DENSE),
    ),
    "ranker": (
        Input("user", "categorical", "user", ("user",), ()),
        Input("history_items", "id_list", "history_items", ("item",), ()),
        Input("history_types", "enum_list", "history_types", ("type",), ()),
        Input("user_cat", "categorical", "user_cat", ("country", "language", "age_bucket"), ()),
        Input("context_cat", "categorical", "context_cat", ("device", "country", "surface", None), ()),
        Input("user_dense", "numeric", "user_dense", (None,), USER_DENSE),
        Input("item", "categorical", "item", ("item",), ()),
        Input("item_categories", "id_list", "item_categories", ("category",), ()),
        Input("item_language", "categorical", "item_language", ("language",), ()),
        Input("item_dense", "numeric", "item_dense", (None,), ITEM_DENSE),
        Input("cross_dense", "numeric", "cross_dense", (None,), CROSS_DENSE),
    ),
}
# The numeric inputs of the ranker, concatenated in this order before it standardises them.
RANKER_DENSE = ("user_dense", "item_dense", "cross_dense")

# The files of a model version's artifact directory.
ARTIFACT_FILES = {
    "user_tower": "user_tower.onnx",
    "item_tower": "item_tower.onnx",
    "ranker": "ranker.onnx",
    "item_embeddings": "item_embeddings.npy",
    "weights": "model.npz",
    "dataset": "dataset.json",
    "metrics": "metrics.json",
    "params": "params.json",
    "parity": "parity.json",
}
# Each exported model's outputs, in order, by the model's name (its file's key in ARTIFACT_FILES).
MODEL_OUTPUTS = {
    "user_tower": ("embedding",),
    "item_tower": ("embedding",),
    "ranker": ("click", "engagement"),
}
