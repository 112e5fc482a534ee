"""A test file whose dependency is missing skips it outside CI and fails under CI=true (conftest.require):
the settings-search tests run with Optuna made unimportable, in a pytest of their own."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))


def run_tune_tests_without_optuna(tmp_path, ci: bool) -> subprocess.CompletedProcess[str]:
    blocked = tmp_path / "blocked" / "optuna"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("optuna is made unimportable for this test")\n')
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "blocked"), env.get("PYTHONPATH", "")])
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", os.path.join(TESTS, "test_tune.py")],
        cwd=os.path.dirname(TESTS),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("ci", [False, True], ids=["developer", "CI"])
def test_missing_optuna_skips_for_a_developer_and_fails_under_ci(tmp_path, ci: bool) -> None:
    result = run_tune_tests_without_optuna(tmp_path, ci)
    out = result.stdout + result.stderr
    assert "optuna is missing" in out, out
    assert "python3-optuna" in out, out
    if ci:
        assert result.returncode == pytest.ExitCode.INTERRUPTED, out  # an error collecting the file
        assert "CI=true" in out, out
    else:
        assert result.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, out  # the file skipped whole
        assert "1 skipped" in out, out
