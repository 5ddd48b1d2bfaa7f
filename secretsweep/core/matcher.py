"""Two-stage matching: one hyperscan pass over all rules, then a regex on the rules that fired.

Hyperscan compiles every pattern in prefilter mode, so it reports a superset of the places a rule
can match end. The regex pass then runs only those rules, in small windows around those ends where
the rule's matches are bounded (else over the whole blob), and extracts the secret group. The
pure-`regex` path runs every rule over every blob; both paths yield the same matches (tests hold
them to it). Small windows are searched with the standard library's `re` where a pattern compiles
there: it starts a search several times faster than `regex`, whose time bound guards the searches
that could run long.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from secretsweep.core import decode
from secretsweep.core.literals import required_literals
from secretsweep.core.versions import Hit, Versions
from secretsweep.model import Rule

if TYPE_CHECKING:
    import regex

# A regex that backtracks past this on one blob is abandoned for that blob (counted by the caller).
REGEX_TIMEOUT_S = 2.0
# Past this many hits of one rule in one blob the rest are not worth reporting separately.
MAX_MATCHES_PER_RULE = 500
# Rules whose matches can be longer than this are confirmed over the whole blob, not in windows.
MAX_WINDOW = 1 << 17
# Context kept after a window beyond what the rule's lookaheads reach, for `\\b` and `$`.
WINDOW_PAD = 1
# Rules whose matches may hold more whitespace than this get no window start from counting it back.
MAX_SPACES = 32
# Past this many hyperscan hits for one rule in one blob, one pass over the whole blob is cheaper.
MAX_WINDOWS = 256
# Windows up to this size are searched with `re`, which has no time bound (a bounded pattern's
# backtracking over a few kB stays bounded too), larger ones and whole blobs with `regex` and its bound.
FAST_WINDOW = 4096
# Bytes of small windows remembered with their matches, per matcher, before the memory is cleared.
_WINDOW_BYTES_KEPT = 16 << 20
# Hyperscan ids from here up are keyword literals standing in for rule (id - KEYWORD_ID).
KEYWORD_ID = 1 << 20
# Ids from here up are words hinting at encoded text (decode.HINTS, in order), found in the same pass.
HINT_ID = 2 << 20
# Ids from here up are literals of rule (id - PRESENCE_ID), whose matches can reach past _WIDE bytes.
PRESENCE_ID = 3 << 20
# Rules whose matches can be longer widen the margin around a new version's changes only in files
# holding one of their literals (see `versions`).
_WIDE = 2048
_UNBOUNDED = 0xFFFFFFFF  # the reach of a rule whose matches have no bound
# Bytes of files' last versions kept per matcher, to search only what the next version changed.
_VERSION_BYTES_KEPT = 32 << 20
_HINT_KINDS = [kind for kind, words in decode.HINTS.items() for _ in words]


def compile_pattern(pattern: str) -> regex.Pattern[bytes]:
    """Compile a rule pattern for bytes input; the `regex` module's V0 syntax. (Imported here: a
    pre-commit run whose blobs hyperscan finds clean never needs it.)"""
    import regex

    return regex.compile(pattern.encode("utf-8"))


def _compile_std(pattern: str, reference: regex.Pattern[bytes]) -> re.Pattern[bytes] | None:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            compiled = re.compile(pattern.encode("utf-8"))
    except (re.error, Warning, ValueError, OverflowError):
        return None
    if compiled.groups != reference.groups or compiled.groupindex != dict(reference.groupindex):
        return None
    return compiled


def secret_group(compiled: regex.Pattern[bytes]) -> int | str:
    """The group holding the secret: `secret` if named, else the first group, else the whole match."""
    if "secret" in compiled.groupindex:
        return "secret"
    return 1 if compiled.groups >= 1 else 0


@dataclass(frozen=True, slots=True)
class Reach:
    """How far around a match's end its confirming regex must look."""

    width: int  # the longest match
    around: int  # the farthest its lookarounds can look past its end
    one_line: bool  # no match holds a newline (lookarounds aside), so each lies within one line
    spaces: int | None = None  # the most whitespace bytes a match can hold, when bounded


def reach(pattern: str) -> Reach | None:
    """How far a rule's matches and lookarounds reach, when bounded (stdlib parser; regex-only syntax
    gives None).

    Patterns run on bytes, where every character class matches exactly one byte, so these count bytes.
    Each lookaround looks at most its own width past where it stands, and nested ones add up, so the
    sum of every lookaround's width bounds them all.
    """
    try:
        import re._parser as sre_parse

        parsed = sre_parse.parse(pattern)
        width = parsed.getwidth()[1]
        around = _lookaround_widths(parsed)
        one_line = _most_held(parsed, frozenset(b"\n")) == 0
        spaces = _most_held(parsed, _SPACE)
    except Exception:
        return None
    if width > MAX_WINDOW or around > MAX_WINDOW:
        return None
    return Reach(width, around, one_line, spaces)


def _lookaround_widths(parsed: Any) -> int:
    from re._constants import ASSERT, ASSERT_NOT

    total = 0
    stack = [parsed]
    while stack:
        for op, av in stack.pop():
            if op in (ASSERT, ASSERT_NOT):
                total += av[1].getwidth()[1]
            for item in av if isinstance(av, (list, tuple)) else (av,):
                stack.extend(sub for sub in (item if isinstance(item, list) else (item,)) if hasattr(sub, "getwidth"))
    return total


_SPACE = frozenset(b" \t\n\r\f\v")  # what `\s` matches in a bytes pattern


def _most_held(parsed: Any, wanted: frozenset[int]) -> int | None:
    """The most bytes from `wanted` one match can hold (outside lookarounds, which only look), or None
    when that is unbounded or the pattern holds something not understood."""
    from re import _constants as c

    groups: dict[int, int | None] = {}

    def held(seq: Any) -> int | None:
        total = 0
        for op, av in seq:
            if op in (c.ASSERT, c.ASSERT_NOT, c.AT):
                n: int | None = 0
            elif op is c.LITERAL:
                n = int(av in wanted)
            elif op is c.NOT_LITERAL:
                n = int(bool(wanted - {av}))
            elif op is c.ANY:
                n = 1
            elif op is c.IN:
                n = int(any(_class_holds(av, b) for b in wanted))
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                inner = held(av[2])
                n = None if inner is None else 0 if inner == 0 else None if av[1] == c.MAXREPEAT else av[1] * inner
            elif op is c.SUBPATTERN:
                n = held(av[3])
                if av[0] is not None:
                    groups[av[0]] = n
            elif op is c.ATOMIC_GROUP:
                n = held(av)
            elif op is c.BRANCH:
                counts = [held(b) for b in av[1]]
                n = None if None in counts else max(counts)  # type: ignore[type-var]
            elif op is c.GROUPREF_EXISTS:
                counts = [held(b) for b in av[1:] if b is not None]
                n = None if None in counts else max(counts, default=0)  # type: ignore[type-var]
            elif op is c.GROUPREF:  # repeats what the group matched (a group not seen yet: its width)
                n = groups[av] if av in groups else parsed.state.groupwidths[av][1]
            else:
                return None
            if n is None or n >= c.MAXREPEAT:
                return None
            total += n
        return total

    return held(parsed)


def _class_holds(items: list[tuple[Any, Any]], byte: int) -> bool:
    """Whether a character class matches `byte` (in a bytes pattern), answering yes when unsure."""
    from re import _constants as c

    categories = {
        c.CATEGORY_DIGIT: 48 <= byte <= 57, c.CATEGORY_SPACE: byte in _SPACE,
        c.CATEGORY_WORD: byte == 95 or chr(byte).isascii() and chr(byte).isalnum(),
    }
    categories[c.CATEGORY_NOT_DIGIT] = not categories[c.CATEGORY_DIGIT]
    categories[c.CATEGORY_NOT_SPACE] = not categories[c.CATEGORY_SPACE]
    categories[c.CATEGORY_NOT_WORD] = not categories[c.CATEGORY_WORD]
    negated = bool(items) and items[0][0] is c.NEGATE
    found = False
    for op, av in items[1:] if negated else items:
        if op is c.LITERAL:
            found |= av == byte
        elif op is c.RANGE:
            found |= av[0] <= byte <= av[1]
        elif op is c.CATEGORY and av in categories:
            found |= categories[av]
        else:
            return True  # not understood: assume it does
    return found != negated


def max_width(pattern: str) -> int | None:
    """The longest match a pattern can make, when it and its lookarounds are bounded."""
    bounds = reach(pattern)
    return bounds.width if bounds is not None else None


class CompiledRule:
    """A rule with its regexes compiled on first use: with a cached hyperscan database, most rules
    never fire on a small scan, so most are never compiled."""

    __slots__ = ("rule", "keywords", "_regex", "_group", "_path", "_reach", "_fast")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.keywords = tuple(k.lower().encode() for k in rule.keywords)
        self._regex: regex.Pattern[bytes] | None = None
        self._group: int | str = 0
        self._path: regex.Pattern[str] | None = None
        self._reach: Reach | None | bool = False  # False: not computed yet
        self._fast: re.Pattern[bytes] | None | bool = False  # False: not compiled yet

    @property
    def regex(self) -> regex.Pattern[bytes]:
        if self._regex is None:
            self._regex = compile_pattern(self.rule.pattern)
            self._group = secret_group(self._regex)
        return self._regex

    @property
    def group(self) -> int | str:
        self.regex  # noqa: B018 - compiling sets the group
        return self._group

    @property
    def fast(self) -> re.Pattern[bytes] | None:
        """The pattern compiled by `re`, for small windows; None where `re` refuses it or might read it
        otherwise (a warning), or names the groups differently."""
        if self._fast is False:
            self._fast = _compile_std(self.rule.pattern, self.regex)
        return self._fast  # type: ignore[return-value]

    @property
    def path(self) -> regex.Pattern[str] | None:
        if self._path is None and self.rule.path:
            import regex

            self._path = regex.compile(self.rule.path)
        return self._path

    @property
    def reach(self) -> Reach | None:
        if self._reach is False:
            self._reach = reach(self.rule.pattern)
        return self._reach  # type: ignore[return-value]

    def compile_all(self) -> None:
        """Compile now (to validate a rule set up front)."""
        self.regex  # noqa: B018
        self.path  # noqa: B018


@dataclass(frozen=True, slots=True)
class RawMatch:
    """A regex hit before filters: the span of the secret group and of the whole match."""

    index: int  # position of the rule in the matcher's list
    start: int
    end: int
    match_start: int
    match_end: int


def ruleset_digest(rules: Sequence[Rule]) -> str:
    """Identifies a rule list for caching a compiled database."""
    h = hashlib.sha256(b"matcher-v10\0")
    for r in rules:
        h.update(f"{r.id}\0{r.pattern}\0{r.hyperscan}\0{'|'.join(r.keywords)}\0".encode())
    return h.hexdigest()[:32]


class Matcher:
    """Finds raw matches of a fixed list of rules in bytes."""

    def __init__(self, rules: Sequence[Rule], *, hyperscan_db: bytes | None = None, use_hyperscan: bool = True):
        self.rules = [CompiledRule(r) for r in rules]
        self.digest = ruleset_digest(rules)
        self._db: Any = None
        self._scratch: Any = None
        # Rules with neither a pattern nor keywords in the database are always handed to the regex pass.
        self._always: tuple[int, ...] = ()
        self.from_cache = False  # the hyperscan database came from `hyperscan_db`, not a compile
        self._refused: frozenset[int] = frozenset()  # patterns hyperscan would not compile
        # Rules limited to a few kinds of file live in a database of their own, scanned only at such paths.
        self._gated: frozenset[int] = frozenset()
        self._gated_db: Any = None
        self._gated_scratch: Any = None
        self._gate_cache: dict[str, bool] = {}
        # What small windows held, by the bytes their search can see (see `_small_window`).
        self._windows_seen: dict[tuple[int, int, bytes], list[tuple[int, int, int, int]]] = {}
        self._window_bytes = 0
        # The gated rules' path regexes as one hyperscan database: a path is judged in one pass, not seven
        # regex searches (ansible's 37,000 paths: 0.09 s instead of 0.8 s).
        self._path_db: Any = None
        self._path_scratch: Any = None
        # How far matches in the main database reach, for searching a file's versions (None: unbounded),
        # and the reach of its wide rules by their literals' ids.
        self._margin: int | None = None
        self._wide: dict[int, int] = {}
        self._versions: Versions | None = None
        if use_hyperscan:
            self._init_hyperscan(hyperscan_db)
            if self._db is not None and self._margin is not None:
                self._versions = Versions(self._margin, self._wide, _VERSION_BYTES_KEPT)

    # -- hyperscan --------------------------------------------------------------------------------
    def _init_hyperscan(self, serialized: bytes | None) -> None:
        try:
            import hyperscan
        except ImportError:
            return
        if serialized is not None:
            try:
                always, offset = _unpack_ints(serialized, 0)
                refused, offset = _unpack_ints(serialized, offset)
                gated, offset = _unpack_ints(serialized, offset)
                margin, offset = _unpack_ints(serialized, offset)
                wide, offset = _unpack_ints(serialized, offset)
                reaches, offset = _unpack_ints(serialized, offset)
                sizes, offset = _unpack_ints(serialized, offset)
                self._always, self._refused, self._gated = tuple(always), frozenset(refused), frozenset(gated)
                self._margin, self._wide = (margin or [None])[0], dict(zip(wide, reaches, strict=True))
                main, gated_db, path_db = _split(serialized[offset:], sizes)
                self._db = hyperscan.loadb(main, hyperscan.HS_MODE_BLOCK)
                self._scratch = hyperscan.Scratch(self._db)
                if gated_db:
                    self._gated_db = hyperscan.loadb(gated_db, hyperscan.HS_MODE_BLOCK)
                    self._gated_scratch = hyperscan.Scratch(self._gated_db)
                if path_db:
                    self._path_db = hyperscan.loadb(path_db, hyperscan.HS_MODE_BLOCK)
                    self._path_scratch = hyperscan.Scratch(self._path_db)
                self.from_cache = True
                return
            except Exception:  # a stale or foreign cache entry: rebuild below
                self._db = self._gated_db = self._path_db = None
                self._margin, self._wide = None, {}
        # Judging a path rule compiles its path regex: done once here, then remembered in the cache.
        self._gated = frozenset(i for i, cr in enumerate(self.rules) if _narrow_path(cr.path))
        patterns = [i for i, cr in enumerate(self.rules) if cr.rule.hyperscan]
        try:
            self._compile_all(hyperscan, patterns, [])
        except Exception:
            # Find the patterns hyperscan refuses, one by one; their keywords stand in for them.
            refused = [i for i in patterns if not self._compiles(hyperscan, i)]
            self._compile_all(hyperscan, [i for i in patterns if i not in refused], refused)

    def _compiles(self, hyperscan: Any, index: int) -> bool:
        try:
            hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
                expressions=[self.rules[index].rule.pattern.encode()], ids=[index], elements=1,
                flags=[hyperscan.HS_FLAG_PREFILTER])
        except Exception:
            return False
        return True

    def _compile_all(self, hyperscan: Any, patterns: list[int], refused: list[int]) -> None:
        """The main database, and apart from it the rules limited to a few kinds of file: scanned only
        for blobs at such a path, they cost the other blobs nothing."""
        self._refused = frozenset(refused)
        wanted = set(patterns)
        self._always = tuple(i for i, cr in enumerate(self.rules) if i not in wanted and not cr.keywords)
        ungated = [i for i in range(len(self.rules)) if i not in self._gated]
        self._db = self._compile(hyperscan, ungated, wanted, main=True)
        self._scratch = hyperscan.Scratch(self._db)
        if self._gated:
            self._gated_db = self._compile(hyperscan, sorted(self._gated), wanted, main=False)
            self._gated_scratch = hyperscan.Scratch(self._gated_db)
            self._path_db = self._compile_paths(hyperscan)
            if self._path_db is not None:
                self._path_scratch = hyperscan.Scratch(self._path_db)

    def _compile_paths(self, hyperscan: Any) -> Any:
        """The gated rules' path regexes in prefilter mode (a superset of the paths they accept), or None
        when hyperscan refuses one of them: the regexes then judge each path themselves."""
        paths = [str(self.rules[i].rule.path) for i in sorted(self._gated)]  # gated rules all have one
        try:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(expressions=[p.encode() for p in paths], ids=list(range(len(paths))),
                       elements=len(paths), flags=hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH)
        except Exception:
            return None
        return db

    def _compile(self, hyperscan: Any, members: list[int], patterns: set[int], *, main: bool) -> Any:
        """One database of `members`: each rule's pattern where it can, else its keywords as literals (a
        hit then means confirming over the whole blob); a rule with neither is always confirmed. The
        main database also finds the decoding hints and, to search a file's versions by their changes,
        reports every literal's place (not only its first) and the literals of its wide rules."""
        expressions: list[bytes] = []
        ids: list[int] = []
        flags: list[int] = []
        once = 0 if main else hyperscan.HS_FLAG_SINGLEMATCH
        reaches: list[int | None] = []  # how far each expression's matches reach, the wide rules' aside
        if main:
            self._wide = {}
        for i in members:
            cr = self.rules[i]
            if i in patterns:
                expressions.append(cr.rule.pattern.encode())
                ids.append(i)
                flags.append(hyperscan.HS_FLAG_PREFILTER)
                width = cr.reach.width if cr.reach is not None else None
                literals = required_literals(cr.rule.pattern) if main and (width is None or width > _WIDE) else None
                if literals:
                    for literal, caseless in sorted(literals):
                        expressions.append(re.escape(literal))
                        ids.append(PRESENCE_ID + i)
                        flags.append(hyperscan.HS_FLAG_CASELESS if caseless else 0)
                    self._wide[PRESENCE_ID + i] = min(width or _UNBOUNDED, _UNBOUNDED)
                else:
                    reaches.append(width)
            else:
                # Short keywords in the database slow every scan, so only rules without a pattern
                # there get theirs in; the others check keywords after their pattern fired.
                for kw in cr.keywords:
                    expressions.append(re.escape(kw))
                    ids.append(KEYWORD_ID + i)
                    flags.append(hyperscan.HS_FLAG_CASELESS | once)
                    reaches.append(len(kw))
        if main:
            for n, word in enumerate(w for words in decode.HINTS.values() for w in words):
                expressions.append(re.escape(word))
                ids.append(HINT_ID + n)
                flags.append(hyperscan.HS_FLAG_CASELESS)
                reaches.append(len(word))
            bounded = [r for r in reaches if r is not None]
            self._margin = max(bounded, default=0) if len(bounded) == len(reaches) else None
        if not expressions:  # hyperscan compiles nothing from nothing: a literal no blob holds
            expressions, ids, flags = [rb"\x00secretsweep-none\x00"], [HINT_ID + len(_HINT_KINDS)], [0]
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(expressions=expressions, ids=ids, elements=len(ids), flags=flags)
        return db

    @property
    def uses_hyperscan(self) -> bool:
        return self._db is not None

    def serialize(self) -> bytes | None:
        """The compiled hyperscan databases with the list of rules they left out, for a cache."""
        if self._db is None:
            return None
        import hyperscan

        parts = [hyperscan.dumpb(db) if db is not None else b"" for db in (self._db, self._gated_db, self._path_db)]
        wide = sorted(self._wide)
        return (_pack_ints(self._always) + _pack_ints(sorted(self._refused)) + _pack_ints(sorted(self._gated))
                + _pack_ints([] if self._margin is None else [self._margin]) + _pack_ints(wide)
                + _pack_ints([self._wide[w] for w in wide]) + _pack_ints([len(p) for p in parts]) + b"".join(parts))

    def _gate_open(self, path: str | None) -> bool:
        """Whether any rule of the gated database applies at `path` (remembered per path)."""
        if path is None or self._gated_db is None:
            return False
        known = self._gate_cache.get(path)
        if known is None:
            if len(self._gate_cache) > 1 << 16:
                self._gate_cache.clear()
            known = self._gate_cache[path] = self._path_gated(path)
        return known

    def _path_gated(self, path: str) -> bool:
        # Hyperscan folds case in ASCII only, the regexes in all of Unicode: it may judge ASCII paths alone.
        if self._path_db is not None and path.isascii():
            hits: list[tuple[int, int]] = []
            self._path_db.scan(path.encode(), match_event_handler=_collect, scratch=self._path_scratch, context=hits)
            if not hits:
                return False
        paths = (self.rules[i].path for i in self._gated)
        return any(p is not None and p.search(path) for p in paths)

    def _search(self, data: bytes | memoryview) -> list[Hit]:
        hits: list[Hit] = []
        self._db.scan(data, match_event_handler=_collect, scratch=self._scratch, context=hits)
        return hits

    def _candidates(self, data: bytes, path: str | None,
                    versioned: bool) -> tuple[dict[int, list[int] | None], set[str]]:
        """Rules that may match, each with the offsets where hyperscan saw a match end (None: confirm
        over the whole blob), and the encodings the blob hints at. Keywords are checked for rules whose
        keywords stood in for their pattern; the caller checks the others'."""
        if self._db is None:
            return dict.fromkeys(range(len(self.rules))), decode.hinted(data)
        if versioned and path is not None and self._versions is not None:
            hits = self._versions.hits(data, path, self._search)
        else:
            hits = self._search(data)
        if self._gate_open(path):
            hits = [*hits]  # the versions' memory keeps the main database's hits, not these
            self._gated_db.scan(data, match_event_handler=_collect, scratch=self._gated_scratch, context=hits)
        out: dict[int, list[int] | None] = dict.fromkeys(self._always)
        hints: set[str] = set()
        if not hits:  # most blobs: nothing more to sort out
            return out, hints
        ends: dict[int, list[int]] = {}
        for expr, end in hits:
            if expr >= PRESENCE_ID:
                continue  # only there to widen a version's search
            if expr >= HINT_ID:
                if expr - HINT_ID < len(_HINT_KINDS):
                    hints.add(_HINT_KINDS[expr - HINT_ID])
            elif expr >= KEYWORD_ID:
                out[expr - KEYWORD_ID] = None  # keywords standing in for a pattern: confirm everywhere
            else:
                ends.setdefault(expr, []).append(end)
        out.update(ends)
        return out, hints

    # -- both paths -------------------------------------------------------------------------------
    def scan(self, data: bytes, path: str | None = None, *,
             versioned: bool = False) -> tuple[list[RawMatch], list[str], set[str]]:
        """Raw matches of every rule in `data` (rule order, then position), the ids of rules abandoned
        on this blob because their regex ran past the time bound, and the encodings it hints at.
        `versioned`: `data` is the next version of the file at `path` (a history's, newest first), so
        hyperscan searches only what changed since the last version seen there; the matches are the same."""
        matches: list[RawMatch] = []
        timed_out: list[str] = []
        candidates, hints = self._candidates(data, path, versioned)
        if not candidates:
            return matches, timed_out, hints
        lowered: bytes | None = None
        for index in sorted(candidates):
            cr = self.rules[index]
            if cr.path is not None and (path is None or cr.path.search(path) is None):
                continue
            # Hyperscan already matched the keywords of rules it found by keyword (no end offsets).
            ends = candidates[index]
            keywords_checked = self._db is not None and ends is None
            if cr.keywords and not keywords_checked and not _keyword_near(cr, data, ends):
                if lowered is None:
                    lowered = data.lower()
                if not any(k in lowered for k in cr.keywords):
                    continue
            try:
                matches.extend(self._confirm(index, cr, data, candidates[index]))
            except TimeoutError:
                timed_out.append(cr.rule.id)
        return matches, timed_out, hints

    def _confirm(self, index: int, cr: CompiledRule, data: bytes, ends: list[int] | None) -> list[RawMatch]:
        found: list[RawMatch] = []
        seen: set[tuple[int, int]] = set()
        windows = _windows(ends, cr.reach, data)
        # A window's end looks like the end of the text to `$` and lookaheads; a true match always
        # ends where hyperscan saw one end, so any other end is an artefact of the window.
        true_ends = set(ends) if ends is not None and windows != [(0, len(data))] else None
        fast = cr.fast if true_ends is not None else None
        for pos, endpos in windows:
            if fast is not None and endpos - pos <= FAST_WINDOW:
                spans: Iterable[tuple[int, int, int, int]] = self._small_window(index, cr, fast, data, pos, endpos)
            else:
                spans = _spans(cr.regex.finditer(data, pos, endpos, timeout=REGEX_TIMEOUT_S), cr.group, 0)
            for start, end, match_start, match_end in spans:
                if (match_start, match_end) in seen or (true_ends is not None and match_end not in true_ends):
                    continue
                seen.add((match_start, match_end))
                found.append(RawMatch(index, start, end, match_start, match_end))
                if len(found) >= MAX_MATCHES_PER_RULE:
                    return found
        return found

    def _small_window(self, index: int, cr: CompiledRule, fast: re.Pattern[bytes], data: bytes, pos: int,
                      endpos: int) -> list[tuple[int, int, int, int]]:
        """The secret and match spans `fast` finds in data[pos:endpos], remembered by the bytes the search
        can see: a file's versions in a history hold the same windows again and again (ansible: 89% seen
        before). A search from `pos` sees its lookarounds' reach before it, and one byte for `\\b` and `^`."""
        assert cr.reach is not None  # only rules whose reach is bounded are searched in windows
        context = max(0, pos - cr.reach.around - 1)
        key = (index, pos - context, data[context:endpos])
        spans = self._windows_seen.get(key)
        if spans is None:
            if self._window_bytes > _WINDOW_BYTES_KEPT:
                self._windows_seen.clear()
                self._window_bytes = 0
            spans = self._windows_seen[key] = list(_spans(fast.finditer(data, pos, endpos), cr.group, context))
            self._window_bytes += endpos - context
        return [(s + context, e + context, ms + context, me + context) for s, e, ms, me in spans]


def _spans(matches: Iterator[Any], group: int | str, offset: int) -> Iterator[tuple[int, int, int, int]]:
    """(secret start, end, match start, end) of each match with a non-empty secret, less `offset`; lazily,
    so a search over a whole blob stops where the caller has enough."""
    for m in matches:
        start, end = m.span(group)
        if start >= 0 and start != end:
            match_start, match_end = m.span()
            yield start - offset, end - offset, match_start - offset, match_end - offset


def _collect(expr: int, _start: int, end: int, _flags: int, hits: list[tuple[int, int]]) -> None:
    """Hyperscan's match callback: one made once, handed each scan's list as its context, instead of
    a closure made per blob."""
    hits.append((expr, end))


# Bytes either side of a hit looked at for the rule's keywords before lower-casing the whole blob.
_NEAR = 256


def _keyword_near(cr: CompiledRule, data: bytes, ends: list[int] | None) -> bool:
    """Whether a keyword of the rule sits near its first hit, as it mostly does (often inside the
    match): a blob-wide check then costs a few hundred bytes instead of a copy of the blob."""
    if not ends:
        return False
    e = ends[0]
    near = data[max(0, e - _NEAR) : e + _NEAR].lower()
    return any(k in near for k in cr.keywords)


# File names most projects hold: a path rule that accepts none of them is limited to a few kinds of file.
_COMMON_FILES = ("README.md", "setup.py", "src/main.go", "app/index.js", "config/settings.yml", "data.json",
                 "notes.txt", "Makefile", "docs/index.rst", "lib/util.sh")


def _narrow_path(path: regex.Pattern[str] | None) -> bool:
    return path is not None and not any(path.search(name) for name in _COMMON_FILES)


def _pack_ints(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(4, "little") for v in (len(values), *values))


def _split(data: bytes, sizes: Sequence[int]) -> list[bytes]:
    """`data` cut into consecutive pieces of `sizes` bytes."""
    out, at = [], 0
    for size in sizes:
        out.append(data[at : at + size])
        at += size
    return out


def _unpack_ints(data: bytes, offset: int) -> tuple[list[int], int]:
    count = int.from_bytes(data[offset : offset + 4], "little")
    values = [int.from_bytes(data[offset + 4 + 4 * k : offset + 8 + 4 * k], "little") for k in range(count)]
    return values, offset + 4 + 4 * count


def _windows(ends: list[int] | None, bounds: Reach | None, data: bytes) -> list[tuple[int, int]]:
    """Merged byte ranges that hold every match ending at one of `ends`, with the bytes after it that its
    lookaheads and anchors see. (A search from `pos` still sees the bytes before it, as lookbehinds
    and `^` need; `endpos` cuts the text short like a slice.)

    Two windows closer than a match's length are merged, so no match can straddle a window's
    start, and a window's regex search begins where the whole-blob search would be free too. A rule
    whose matches hold no newline needs no more than the line it ends on: a window starting at that
    line's start cannot cut a match short, and no match from before it can reach into it. Likewise a
    rule whose matches hold at most k whitespace bytes needs nothing before the (k+1)th one back.
    """
    size = len(data)
    if ends is None or bounds is None or len(ends) > MAX_WINDOWS:
        return [(0, size)]
    width, around = bounds.width, bounds.around
    out: list[tuple[int, int]] = []
    for e in sorted(set(ends)):
        lo, hi = max(0, e - width), min(size, e + around + WINDOW_PAD)
        gap = width
        if bounds.one_line:
            line = data.rfind(b"\n", lo, e) + 1
            if line:
                lo, gap = line, 0
        if bounds.spaces is not None and bounds.spaces <= MAX_SPACES and e - lo > _FEW_BYTES:
            start = _past_spaces(data, lo, e, bounds.spaces)
            if start > lo:
                lo, gap = start, 0
        if out and lo <= out[-1][1] + gap:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


# A window this short (a line, mostly) is not worth narrowing further.
_FEW_BYTES = 256
_SPACES_TO_NEWLINES = bytes.maketrans(b" \t\r\f\v", b"\n\n\n\n\n")


def _past_spaces(data: bytes, lo: int, end: int, most: int) -> int:
    """Just after the (most+1)th whitespace byte before `end`, or `lo` when [lo, end) holds fewer: no
    match ending at `end` with at most `most` whitespace bytes starts before it."""
    seg = data[lo:end].translate(_SPACES_TO_NEWLINES)
    at = len(seg)
    for _ in range(most + 1):
        at = seg.rfind(b"\n", 0, at)
        if at < 0:
            return lo
    return lo + at + 1
