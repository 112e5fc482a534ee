"""The models' tables are built from the generated spec, in a fixed order: the order modules are
registered in is the order a seed's random numbers initialise them in, and their names are the keys of
the model files' state, so either changing would make a same-seed model differ or an older file not load."""

from __future__ import annotations

from recstream_models.data import load_dataset
from recstream_models.feature_spec import HOURS
from recstream_models.ranker import Ranker
from recstream_models.towers import TwoTower


def test_the_two_tower_registers_its_modules_in_a_fixed_order(synthetic: str) -> None:
    model = TwoTower(load_dataset(synthetic), 8, 0.15, consumers=3)
    assert [name for name, _ in model.named_parameters()] == [
        "items.prior_id.weight",
        "items.prior_metadata.weight",
        "items.prior_metadata.bias",
        "items.item_id.weight",
        "items.category.weight",
        "items.tag.weight",
        "items.language.weight",
        "items.metadata.0.weight",
        "items.metadata.0.bias",
        "items.metadata.2.weight",
        "items.metadata.2.bias",
        "items.user_ids.weight",
        "users.type_weight.weight",
        *(f"users.user_cat.{lane}.weight" for lane in range(3)),
        *(f"users.context_cat.{lane}.weight" for lane in range(4)),
        "users.mlp.0.weight",
        "users.mlp.0.bias",
        "users.mlp.2.weight",
        "users.mlp.2.bias",
    ]
    assert [name for name, _ in model.named_buffers()] == [
        "items.temperature",
        "items.consumers",
        "items.standardize.mean",
        "items.standardize.std",
        "users.standardize.mean",
        "users.standardize.std",
    ]


def test_each_two_tower_table_matches_rows_by_the_vocabulary_of_its_input(synthetic: str) -> None:
    """What a warm start matches rows by, in the order it visits the tables."""
    assert list(TwoTower(load_dataset(synthetic), 8, 0.15).embedding_vocabularies().items()) == [
        ("items.item_id", "item"),
        ("items.prior_id", "item"),
        ("items.category", "category"),
        ("items.tag", "tag"),
        ("items.language", "language"),
        ("users.user_id", "user"),
        ("users.type_weight", "type"),
        ("users.user_cat.0", "country"),
        ("users.user_cat.1", "language"),
        ("users.user_cat.2", "age_bucket"),
        ("users.context_cat.0", "device"),
        ("users.context_cat.1", "country"),
        ("users.context_cat.2", "surface"),
    ]


def test_each_table_has_a_row_per_value_of_its_vocabulary(synthetic: str) -> None:
    dataset = load_dataset(synthetic)
    model = TwoTower(dataset, 8, 0.15)
    for name, vocabulary in model.embedding_vocabularies().items():
        assert model.get_submodule(name).num_embeddings == dataset.vocabulary_size(vocabulary), name
    assert model.users.context_cat[3].num_embeddings == HOURS


def test_the_ranker_registers_its_modules_in_a_fixed_order(synthetic: str) -> None:
    ranker = Ranker(load_dataset(synthetic), 8)
    assert [name for name, _ in ranker.named_parameters()] == [
        "user.weight",
        "item.weight",
        "category.weight",
        "language.weight",
        *(f"user_cat.{lane}.weight" for lane in range(3)),
        *(f"context_cat.{lane}.weight" for lane in range(4)),
        "bottom.0.weight",
        "bottom.0.bias",
        "bottom.2.weight",
        "bottom.2.bias",
        "top.0.weight",
        "top.0.bias",
        "top.2.weight",
        "top.2.bias",
        "top.4.weight",
        "top.4.bias",
        "wide.weight",
        "wide.bias",
    ]
    assert [name for name, _ in ranker.named_buffers()] == ["pair_i", "pair_j", "standardize.mean", "standardize.std"]
