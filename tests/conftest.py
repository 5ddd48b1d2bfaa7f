"""Shared fixtures: real git repositories built in temporary folders, and the CLI run in-process."""

from __future__ import annotations

import os
import random
import string
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sample_repos.build import build
from secretsweep.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_repos"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One hyperscan cache for the whole session, never the user's own.
    monkeypatch.setenv("SECRETSWEEP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}
    out = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True, env=env, check=True)
    return out.stdout.decode()


@pytest.fixture
def sample_repo(tmp_path: Path) -> Callable[[str], Path]:
    """Builds the real repository from sample_repos/<name>.fi in a temporary folder."""
    return lambda name: build(name, tmp_path / name)


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    def run(*argv: str | Path) -> Run:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def fake_token(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int | None = None) -> str:
    """A random value of the given shape, made at run time so no test file holds a secret."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def fake_aws_key_id(seed: int | None = None) -> str:
    return "AKIA" + fake_token(16, string.ascii_uppercase + "234567", seed)


def fake_aws_secret(seed: int | None = None) -> str:
    return fake_token(40, string.ascii_letters + string.digits + "/+", seed)
