"""Ray stays optional: plain use never imports it, and the --ray flags say what to install
when it is missing (tests/archive/test_ray.py runs them on a real cluster)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from newsarchive.cli.main import app
from newsarchive.cli.scale import with_bare_ray

from conftest import SEED

PLAIN_USE = """
import sys
from typer.testing import CliRunner
import newsarchive, newsarchive.archive
from newsarchive.api.app import create_app
from newsarchive.cli.main import app
runner = CliRunner()
for args in (["--help"], ["ingest", "--help"], ["serve", "--help"],
             ["ingest", SEED, "--data", DATA], ["search", "Iraq", "--data", DATA]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, (args, result.output)
assert "ray" not in sys.modules, "ray was imported"
"""

WITHOUT_RAY = """
import sys
sys.modules["ray"] = None  # as if it were not installed
from typer.testing import CliRunner
from newsarchive.cli.main import app
runner = CliRunner()
for args in (["ingest", SEED, "--data", DATA, "--ray", "local"],
             ["reindex", "--reembed", "--data", DATA, "--ray", "local"],
             ["serve", "--data", DATA, "--ray", "local"]):
    result = runner.invoke(app, args)
    print(result.exit_code, result.output.strip())
"""


def run_python(code: str, tmp_path: Path) -> str:
    prelude = f"SEED, DATA = {str(SEED)!r}, {str(tmp_path / 'data')!r}\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code],
        capture_output=True,
        text=True,
        timeout=120,
        env={"NEWSARCHIVE_BACKEND": "hash", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_plain_use_never_imports_ray(tmp_path: Path):
    run_python(PLAIN_USE, tmp_path)


def test_ray_flags_without_ray_say_what_to_install(tmp_path: Path):
    lines = run_python(WITHOUT_RAY, tmp_path).splitlines()
    hint = 'error: ray is not installed; Ray is an optional extra: pip install "newsarchive[ray]"'
    assert lines == [f"2 {hint}"] * 3


def test_bare_ray_means_a_local_cluster():
    assert with_bare_ray(["ingest", "x.jsonl", "--ray"]) == ["ingest", "x.jsonl", "--ray", "local"]
    assert with_bare_ray(["serve", "--ray", "--replicas", "2"])[:3] == ["serve", "--ray", "local"]
    assert with_bare_ray(["ingest", "--ray", str(SEED)])[2] == "local"  # an input, not an address
    assert with_bare_ray(["ingest", "-", "--ray", "-"]) == ["ingest", "-", "--ray", "local", "-"]
    assert with_bare_ray(["ingest", "x", "--ray", "10.0.0.5:6379"])[-1] == "10.0.0.5:6379"
    assert with_bare_ray(["ingest", "--", "--ray"]) == ["ingest", "--", "--ray"]


def test_a_bad_ray_address_is_one_line(tmp_path: Path, hash_backend):
    result = CliRunner().invoke(
        app, ["ingest", str(SEED), "--data", str(tmp_path), "--ray", "not an address"]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: ray address 'not an address' is not HOST:PORT, ray://HOST:PORT, auto or local"
    )


@pytest.mark.parametrize("flag", [["--replicas", "3"], ["--shards", "2"]])
def test_replicas_and_shards_need_ray(tmp_path: Path, flag: list[str]):
    result = CliRunner().invoke(app, ["serve", "--data", str(tmp_path), *flag])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --replicas, --max-replicas and --shards need --ray"


def test_pq_needs_shards(tmp_path: Path):
    args = ["serve", "--data", str(tmp_path), "--ray", "local", "--pq", "48"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip() == "error: --pq needs --shards"


def test_max_replicas_below_replicas_is_one_line(tmp_path: Path):
    args = ["serve", "--data", str(tmp_path), "--ray", "local", "--replicas", "3"]
    result = CliRunner().invoke(app, [*args, "--max-replicas", "2"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --max-replicas 2 is below --replicas 3"
