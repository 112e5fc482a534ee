"""Shared fixtures: small synthetic training sets written by the engine's own generator."""

from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from recstream_models.synth import write_synthetic  # noqa: E402


def require(module: str, install: str) -> ModuleType:
    """The module a test file needs. Where it is missing the file is skipped, saying how to install
    it; under CI=true it fails instead, as the Node tests do (test/skips.ts): CI never passes without
    what it tests. Call it at the top of the file."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        reason = f"{module} is missing ({error}): {install}"
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{reason} (CI=true: a test whose dependency is missing fails instead of skipping)",
                pytrace=False,
            )
        pytest.skip(reason, allow_module_level=True)


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
