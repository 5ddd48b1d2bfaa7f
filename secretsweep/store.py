"""The findings store: `.secretsweep/findings.db` (SQLite) beside a repository.

It holds fingerprints, redacted previews, match locations and provenance, and the ids of every
blob already scanned under the current rule set, so a second history scan reads only new blobs.
It never holds a plaintext secret. WAL mode and a busy timeout let two scans share it safely.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from secretsweep import localdir
from secretsweep.errors import StoreError
from secretsweep.model import BlobId, Confidence, Finding, Match, Occurrence, Origin, Severity

SCHEMA_VERSION = 4
STORE_DIR = localdir.LOCAL_DIR
STORE_FILE = "findings.db"

# A row of `appearances`: a blob, a path it was written at, and the commit, author, e-mail and date that first did.
ProvenanceRow = tuple[BlobId, str, str | None, str | None, str | None, str | None]
# Blobs with matches and no provenance yet (id, the path scanned at) -> their rows.
Trace = Callable[[list[tuple[BlobId, str]]], Iterable[ProvenanceRow]]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Each scan's blob ids in one row, one per line: a history's 150,000 ids written in a millisecond,
-- where a row per id took 0.3 s at the end of every audit.
CREATE TABLE IF NOT EXISTS scanned (id INTEGER PRIMARY KEY AUTOINCREMENT, blob_ids TEXT NOT NULL);
-- A running scan's ids, written while it scans (see `stage_scanned`): not seen until its save deletes
-- the row here, and forgotten if the process that wrote them is gone.
CREATE TABLE IF NOT EXISTS pending (
    scanned_id INTEGER PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started REAL NOT NULL);
CREATE TABLE IF NOT EXISTS findings (
    fingerprint TEXT PRIMARY KEY, rule_id TEXT NOT NULL, redacted TEXT NOT NULL, preview TEXT NOT NULL,
    severity TEXT NOT NULL, confidence TEXT NOT NULL, first_seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS matches (
    fingerprint TEXT NOT NULL, blob_id TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    line INTEGER NOT NULL, col INTEGER NOT NULL, preview TEXT NOT NULL, allowed_by TEXT,
    confidence TEXT NOT NULL, path TEXT NOT NULL,
    PRIMARY KEY (fingerprint, blob_id, start));
CREATE TABLE IF NOT EXISTS appearances (
    blob_id TEXT NOT NULL, path TEXT NOT NULL, commit_id TEXT, author TEXT, email TEXT, date TEXT,
    PRIMARY KEY (blob_id, path));
CREATE TABLE IF NOT EXISTS head (blob_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, started REAL NOT NULL, summary TEXT NOT NULL);
"""


def default_path(base: Path) -> Path:
    return base / STORE_DIR / STORE_FILE


class FindingsStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.message: str | None = None  # said once to the user, e.g. after an upgrade
        try:
            if path.parent.name == STORE_DIR:
                localdir.ensure(path.parent)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.db = _connect(path)
            self._use_wal()
            # Two processes opening a new store at once: one creates the tables, the other waits.
            with self._tx():
                self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open the findings store: {exc}") from None
        except OSError as exc:
            raise StoreError(f"{path}: cannot create the findings store: {exc.strerror}") from None

    def _use_wal(self) -> None:
        """WAL lets readers and one writer work at once; switching needs a moment without other writers."""
        for _ in range(600):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.1)
        raise StoreError(f"{self.path}: the findings store stayed locked by another secretsweep process; try again")

    def _migrate(self) -> None:
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = None
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            version = int(row[0]) if row else None
        if tables and version != SCHEMA_VERSION:
            if version is not None and version > SCHEMA_VERSION:
                raise StoreError(f"{self.path}: written by a newer secretsweep (schema {version}); upgrade secretsweep")
            # An older layout: findings are re-derived from the repository, so rebuilding loses nothing.
            for t in tables:
                if not t.startswith("sqlite_"):
                    self.db.execute(f'DROP TABLE IF EXISTS "{t}"')
            self.message = f"the findings store was from an older version and has been rebuilt ({self.path})"
        for statement in _SCHEMA.split(";"):  # not executescript: it would commit the open transaction
            if statement.strip():
                self.db.execute(statement)
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    # -- incremental scanning ----------------------------------------------------------------------
    def use_ruleset(self, digest: str) -> bool:
        """Tie the store to a rule set; a different one forgets which blobs were scanned. True if kept."""
        row = self.db.execute("SELECT value FROM meta WHERE key='ruleset'").fetchone()
        if row and row[0] == digest:
            return True
        with self._tx():
            for table in ("scanned", "pending", "matches", "findings", "appearances"):
                self.db.execute(f"DELETE FROM {table}")
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('ruleset', ?)", (digest,))
        return row is None

    def seen_blobs(self) -> set[str]:
        """The blobs that finished scans have scanned (after forgetting those of scans that died)."""
        self._forget_abandoned()
        seen: set[str] = set()
        for (ids,) in self.db.execute("SELECT blob_ids FROM scanned WHERE id NOT IN (SELECT scanned_id FROM pending)"):
            seen.update(ids.split("\n"))
        return seen

    def stage_scanned(self, scanned: Iterable[BlobId]) -> int | None:
        """Write a running scan's blob ids ahead of its save, which then only marks them seen: a history's
        150,000 ids are written while the workers still scan, not after (ansible: 0.1 s off the end). On a
        connection of its own, so from any thread. The row's id, or None when there are no ids or the
        store cannot take them now (the save then writes them)."""
        ids = "\n".join(scanned)
        if not ids:
            return None
        try:
            db = _connect(self.path)
            try:
                with _Transaction(db):
                    row = db.execute("INSERT INTO scanned (blob_ids) VALUES (?)", (ids,)).lastrowid
                    db.execute("INSERT INTO pending VALUES (?, ?, ?, ?)", (row, socket.gethostname(), os.getpid(),
                                                                           time.time()))
            finally:
                db.close()
        except sqlite3.Error:
            return None
        return row

    def drop_staged(self, *staged: int) -> None:
        """Forget ids staged for scans that stopped before their save."""
        rows = [(row,) for row in staged]
        with self._tx():
            self.db.executemany("DELETE FROM scanned WHERE id = ?", rows)
            self.db.executemany("DELETE FROM pending WHERE scanned_id = ?", rows)

    def _forget_abandoned(self) -> None:
        """Drop the staged ids of scans whose process is gone (on this host), or a day old (on another)."""
        host, now = socket.gethostname(), time.time()
        gone = [row for row, on, pid, started in self.db.execute("SELECT * FROM pending")
                if (on == host and not _alive(pid)) or now - started > _ABANDONED_AFTER_S]
        if gone:
            self.drop_staged(*gone)

    def save_history(self, scanned: Iterable[BlobId], hits: Sequence[tuple[BlobId, Origin, list[Match]]],
                     summary: Mapping[str, object], trace: Trace, head: Iterable[str], staged: int | None = None
                     ) -> None:
        """Record a history scan in one transaction, so a crash leaves the store as it was and the disk is
        synced once: its blobs (`scanned`, and those `stage_scanned` wrote as `staged`) and matches; then the
        provenance `trace` gives for the blobs with matches that have none yet (those of this scan, and any
        an earlier one left untraced); then HEAD's blobs."""
        now = time.time()
        with self._tx():
            if staged is not None:
                self.db.execute("DELETE FROM pending WHERE scanned_id = ?", (staged,))
            ids = "\n".join(scanned)
            if ids:
                self.db.execute("INSERT INTO scanned (blob_ids) VALUES (?)", (ids,))
            self.db.executemany("INSERT OR IGNORE INTO findings VALUES (?, ?, ?, ?, ?, ?, ?)", (
                (m.fingerprint, m.rule_id, m.redacted, m.preview, m.severity.value, m.confidence.value, now)
                for _, _, matches in hits for m in matches))
            self.db.executemany("INSERT OR REPLACE INTO matches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                (m.fingerprint, bid, m.start, m.end, m.line, m.column, m.preview, m.allowed_by, m.confidence.value,
                 origin.path) for bid, origin, matches in hits for m in matches))
            self.db.execute("INSERT INTO scans (kind, started, summary) VALUES (?, ?, ?)",
                            ("history", now, json.dumps(dict(summary), default=str)))
            untraced = [(BlobId(b), p) for b, p in self.db.execute(
                "SELECT DISTINCT m.blob_id, m.path FROM matches m LEFT JOIN appearances a ON a.blob_id = m.blob_id "
                "WHERE a.blob_id IS NULL")]
            self.db.executemany("INSERT OR REPLACE INTO appearances VALUES (?, ?, ?, ?, ?, ?)", trace(untraced))
            self.db.execute("DELETE FROM head")
            self.db.executemany("INSERT OR IGNORE INTO head VALUES (?)", ((h,) for h in head))

    # -- reading -----------------------------------------------------------------------------------
    def load_findings(self, only_blobs: set[str] | None = None) -> list[Finding]:
        """Every finding in the store (or only those with a location in `only_blobs`), first seen first."""
        head = {r[0] for r in self.db.execute("SELECT blob_id FROM head")}
        has_head = bool(head) or self.db.execute("SELECT 1 FROM scans LIMIT 1").fetchone() is not None
        # Each blob's places, built once for all of its matches.
        origins: dict[str, list[Origin]] = {}
        for bid, path, commit, author, email, date in self.db.execute("SELECT * FROM appearances"):
            in_head = (bid in head) if has_head else None
            origins.setdefault(bid, []).append(Origin("history", path, commit, author, email, date, in_head))
        confidences = {c.value: c for c in Confidence}
        rows: dict[str, list[Occurrence]] = {}
        best: dict[str, Confidence] = {}
        for fp, bid, start, end, line, col, preview, allowed, conf, path in self.db.execute(
                'SELECT * FROM matches ORDER BY fingerprint, blob_id, start'):
            if only_blobs is not None and bid not in only_blobs:
                continue
            places = origins.get(bid)
            if places is None:  # not traced (yet): the path it was scanned at
                places = [Origin("history", path, in_head=(bid in head) if has_head else None)]
            occurrences = rows.setdefault(fp, [])
            for origin in places:
                occurrences.append(Occurrence(BlobId(bid), start, end, line, col, origin, preview, allowed))
            c = confidences[conf]
            if fp not in best or c.rank > best[fp].rank:
                best[fp] = c
        findings = []
        for fp, rule_id, redacted, preview, severity, _conf, _first in self.db.execute("SELECT * FROM findings"):
            occ = rows.get(fp)
            if not occ:
                continue
            occ.sort(key=lambda o: (o.origin.date or "9999", o.origin.path, o.line))
            findings.append(Finding(fp, rule_id, redacted, occ[0].preview or preview, Severity(severity),
                                    best[fp], tuple(occ)))
        findings.sort(key=lambda f: (f.first.origin.date or "9999", f.first.origin.path, f.first.line))
        return findings

    def last_summary(self) -> dict[str, object] | None:
        row = self.db.execute("SELECT summary FROM scans ORDER BY id DESC LIMIT 1").fetchone()
        return json.loads(row[0]) if row else None

    def _tx(self) -> _Transaction:
        return _Transaction(self.db)


# Staged ids older than this are a dead scan's, wherever it ran.
_ABANDONED_AFTER_S = 24 * 3600


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit) that waits up to a minute for a lock."""
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute("PRAGMA busy_timeout=60000")
    return db


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error, so concurrent writers never interleave."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
