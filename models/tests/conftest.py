"""Shared fixtures: small synthetic training sets written by the engine's own generator."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from recstream_models.synth import write_synthetic  # noqa: E402


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("synthetic"))
    write_synthetic(out, users=600, items=300, examples=30_000, seed=3)
    return out


@pytest.fixture()
def copy_of(tmp_path):
    """A writable copy of a training set, to break on purpose."""
    import shutil

    def copy(source: str) -> str:
        target = str(tmp_path / "set")
        shutil.copytree(source, target)
        return target

    return copy
