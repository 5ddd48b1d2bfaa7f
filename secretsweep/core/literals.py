"""Literals every match of a pattern holds, read from its parse (the standard library's parser, as
`matcher.reach` uses; a pattern in `regex`-only syntax gives none).

A file without any of a rule's literals holds no match of that rule: the history audit uses this to
leave the few rules whose matches span kilobytes out of the margin it searches around a change.
"""

from __future__ import annotations

from typing import Any

Literal = tuple[bytes, bool]  # (bytes, caseless)

# Shorter literals are too common to say anything (a case-blind one most of all).
MIN_BYTES = 3
MIN_CASELESS_BYTES = 8


def required_literals(pattern: str) -> frozenset[Literal] | None:
    """A set of literals at least one of which every match of `pattern` holds, chosen for rarity (few
    alternatives, the shortest of them as long as can be); None when there is no such set."""
    import re
    import re._parser as sre_parse

    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    return _best(_candidates(parsed, bool(parsed.state.flags & re.IGNORECASE)))


def _candidates(seq: Any, caseless: bool) -> list[frozenset[Literal]]:
    """Literal sets one of which each match of `seq` holds: a run of literals is one, a group or a
    repeat taken at least once adds its own, a branch adds the union of its alternatives' best."""
    import re
    from re import _constants as c

    found: list[frozenset[Literal]] = []
    run = bytearray()

    def close_run() -> None:
        if run:
            found.append(frozenset([(bytes(run), caseless)]))
            run.clear()

    for op, av in seq:
        if op is c.LITERAL and av < 0x80:  # a pattern is matched as UTF-8 bytes: ASCII is one byte each
            run.append(av)
            continue
        close_run()
        if op is c.SUBPATTERN:
            _group, add, remove, sub = av
            inner = (caseless or bool(add & re.IGNORECASE)) and not remove & re.IGNORECASE
            found += _candidates(sub, inner)
        elif op is c.ATOMIC_GROUP:
            found += _candidates(av, caseless)
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] >= 1:
            found += _candidates(av[2], caseless)
        elif op is c.BRANCH:
            alternatives = [_best(_candidates(branch, caseless)) for branch in av[1]]
            if all(alternatives):
                found.append(frozenset().union(*alternatives))  # type: ignore[arg-type]
    close_run()
    return found


def _telling(literal: Literal) -> bool:
    data, caseless = literal
    return len(data) >= (MIN_CASELESS_BYTES if caseless else MIN_BYTES)


def _best(sets: list[frozenset[Literal]]) -> frozenset[Literal] | None:
    usable = [s for s in sets if s and all(_telling(lit) for lit in s)]
    return max(usable, key=lambda s: (min(len(d) for d, _ in s) - 2 * len(s)), default=None)
