"""Promises the project makes about itself: layering, lint, and a clean scan of its own tree."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "secretsweep"

# Each layer may import only the layers listed for it (and the standard library or third parties).
LAYERS = {
    "model": set(),
    "errors": set(),
    "core": {"model"},
    "rules": {"model", "errors", "core"},
    "engine": {"model", "core"},
    "sources": {"model", "errors", "sources"},
    "localdir": set(),
    "store": {"model", "errors", "core", "localdir"},
    "baseline": {"model", "errors", "core", "localdir"},
    "report": {"model", "report"},
    "scan": {"model", "core", "sources"},
    "scan_stream": {"model", "errors", "core", "sources", "scan"},
    "history_audit": {"model", "errors", "core", "sources", "store", "scan", "scan_stream"},
    "progress": set(),
    "triage": {"model"},
    "migrate": {"model", "errors", "core", "migrate", "localdir"},
    "hook": {"model", "errors"},
    "tui": {"model", "triage", "tui"},
    "cli": None,  # the CLI wires everything together
    "cli_baseline": None,
    "cli_triage": None,
    "cli_migrate": None,
    "baseline_import": {"model", "errors"},
    "__init__": set(),
    "__main__": {"cli"},
}


def _layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def _modules():
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        yield name, path


@pytest.mark.parametrize("name,path", sorted(_modules()), ids=lambda v: str(v))
def test_imports_point_inward(name, path):
    layer = _layer(name) if name != "secretsweep" else "__init__"
    allowed = LAYERS.get(layer, set())
    if allowed is None:
        return
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        for t in targets:
            if t == "secretsweep" or not t.startswith("secretsweep."):
                continue
            other = t.split(".")[1]
            assert other == layer or other in allowed, f"{name} imports {t}"


def test_core_does_no_io():
    forbidden = {"subprocess", "socket", "sqlite3", "boto3", "git", "pathlib", "shutil", "tempfile"}
    for path in (PACKAGE / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module.split(".")[0]]
            assert not set(names) & forbidden, f"{path.name} imports {names}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "open", f"{path.name} opens a file"


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed")
    res = subprocess.run([ruff, "check", "--quiet", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_scanning_this_repository_passes():
    res = subprocess.run([sys.executable, "-m", "secretsweep", "scan", str(ROOT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


def test_secretsweepignore_excludes_only_fixtures():
    lines = [ln for ln in (ROOT / ".secretsweepignore").read_text().splitlines() if ln and not ln.startswith("#")]
    assert lines == ["patterns/", "sample_repos/*.fi"]
