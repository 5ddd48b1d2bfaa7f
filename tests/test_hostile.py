"""Hostile inputs end with a correct summary and exit code, skipped items counted, and no traceback.
The slow cases (a 50 MB line, 200,000 files, 50,000 refs) are in benchmarks/bench_hostile.py."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.conftest import fake_aws_key_id, git


def scan_json(run_cli, *argv: object) -> tuple[int, dict, str]:
    res = run_cli("scan", *argv, "-f", "json")
    assert "Traceback" not in res.err
    return res.code, json.loads(res.out) if res.out else {}, res.err


def test_multi_gigabyte_file_is_skipped_unread(run_cli, tmp_path):
    huge = tmp_path / "huge.log"
    with open(huge, "wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.truncate(3 * 1024**3)
    (tmp_path / "a.py").write_text(f'K = "{fake_aws_key_id(40)}"\n')
    code, doc, _ = scan_json(run_cli, tmp_path)
    assert code == 1 and doc["summary"]["skipped"] == {"too large": 1}


def test_deep_folders(run_cli, tmp_path):
    deep = tmp_path
    for i in range(500):
        deep = deep / f"d{i % 10}"
    os.makedirs(deep)
    (deep / "k.py").write_text(f'K = "{fake_aws_key_id(41)}"\n')
    code, doc, _ = scan_json(run_cli, tmp_path)
    assert code == 1 and doc["findings"][0]["path"].count("/") == 500


def test_links_outside_the_tree_are_not_followed(run_cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "k.py").write_text(f'K = "{fake_aws_key_id(42)}"\n')
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "linked-dir").symlink_to(outside)
    (tree / "linked-file.py").symlink_to(outside / "k.py")
    code, doc, _ = scan_json(run_cli, tree)
    assert code == 0 and doc["summary"]["skipped"] == {"symlink (not followed)": 2}


def test_linked_worktree_and_submodule(run_cli, tmp_path, sample_repo):
    repo = sample_repo("webapp")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", str(linked), "feature/deploy")
    code, doc, _ = scan_json(run_cli, linked)
    assert code == 1 and "scripts/deploy.sh" in {f["path"] for f in doc["findings"]}
    code, doc, _ = scan_json(run_cli, "--history", linked, "--store", tmp_path / "s.db")
    assert code == 1 and doc["summary"]["unique_blobs"] == 9
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q")
    (sub / "x.txt").write_text("x\n")
    git(sub, "add", ".")
    git(sub, "commit", "-qm", "x")
    subprocess.run(["git", "-C", str(repo), "-c", "protocol.file.allow=always", "submodule", "add", "-q",
                    str(sub), "vendor/sub"], check=True, capture_output=True)
    git(repo, "commit", "-qm", "add submodule")
    code, doc, err = scan_json(run_cli, "--history", repo, "--store", tmp_path / "t.db")
    assert code == 1 and "submodule(s) not followed (--recurse-submodules follows them): vendor/sub" in err
    (repo / "vendor" / "sub" / "key.py").write_text(f'K = "{fake_aws_key_id(45)}"\n')
    git(repo / "vendor" / "sub", "add", "key.py")
    git(repo / "vendor" / "sub", "commit", "-qm", "key")
    code, doc, err = scan_json(run_cli, "--history", repo, "--store", tmp_path / "u.db", "--recurse-submodules")
    assert "vendor/sub/key.py" in {loc["path"] for f in doc["findings"] for loc in f["locations"]}


def test_corrupt_pack_is_one_line_not_a_traceback(run_cli, tmp_path):
    for i in range(20):
        (tmp_path / f"f{i}.py").write_text(f"value_{i} = {i}\n" * 50)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    git(tmp_path, "gc", "-q")
    (pack,) = (tmp_path / ".git" / "objects" / "pack").glob("*.pack")
    data = bytearray(pack.read_bytes())
    for i in range(200, len(data) - 200, 97):
        data[i] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(data))
    res = run_cli("scan", "--history", tmp_path, "--store", tmp_path / "s.db")
    assert res.code in (0, 1, 2)
    assert "Traceback" not in res.err
    assert res.code != 2 or res.err.count("\n") == 1


def test_many_refs(run_cli, tmp_path):
    (tmp_path / "a.py").write_text(f'K = "{fake_aws_key_id(43)}"\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    head = git(tmp_path, "rev-parse", "HEAD").strip()
    refs = "".join(f"create refs/heads/b{i} {head}\n" for i in range(3000))
    git(tmp_path, "update-ref", "--stdin", input=refs.encode())
    code, doc, _ = scan_json(run_cli, "--history", tmp_path)
    assert code == 1 and doc["summary"]["refs"] == 3001 and len(doc["findings"]) == 1


def test_file_names_that_are_not_utf8_in_history(run_cli, tmp_path):
    name = os.fsdecode(b"caf\xe9.py")
    (tmp_path / name).write_text(f'K = "{fake_aws_key_id(44)}"\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "x")
    code, doc, _ = scan_json(run_cli, "--history", tmp_path)
    assert code == 1 and len(doc["findings"]) == 1
    assert Path(tmp_path).exists()
