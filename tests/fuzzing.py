"""Cheap mutation on top of hypothesis: one drawn template and seed, many variants.

Hypothesis is thorough but spends milliseconds drawing one nested payload; the doors answer a
bad request in a fraction of that. So each hypothesis example draws a template (the shapes
that matter) and a seed, and `variants` derives many cases from it with a seeded PRNG: keys
dropped, values swapped for hostile leaves (NUL, huge integers, impossible dates, nested
lists, names), strings cut or grown. Deterministic per (template, seed), so a failure that
names its case reproduces.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

#: A client's name, as a clumsy sender might put it anywhere: it must never reach a log.
#: (A space and an apostrophe: it can never pass for an id, which logs may carry.)
NAME = "Zephyrine O'Hara"

HOSTILE_LEAVES: tuple[Any, ...] = (
    None, True, False, 0, -1, 2**63, -(2**63) - 1, 10**40, 1.5e308, -0.0, "", " ", "\x00",
    "a\x00b", "\n", "\r\nERROR forged", NAME, "R-1042", "4242", "R-7777", "2**63",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-03-01T10:00:00Z",
    "1999-12-31", "abc", "1e10", "&<>", "`*_~", "\u202e", "\ud800"[:0] + "\U0001f600",
    [], {}, [None], {"": None}, {"id": "U0CLIN0001"}, [{"action_id": "x"}],
    "x" * 3100, "&" * 1200,
)


def _leaf(rng: random.Random) -> Any:
    return copy.deepcopy(rng.choice(HOSTILE_LEAVES))


def _paths(value: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    found = [prefix]
    if depth > 6:
        return found
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key), depth + 1)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index), depth + 1)
    return found


def _get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def mutate(template: Any, rng: random.Random) -> Any:
    """One variant of `template` with one to three changes."""
    value = copy.deepcopy(template)
    for _ in range(rng.randint(1, 3)):
        paths = _paths(value)
        path = rng.choice(paths)
        if not path:
            value = _leaf(rng) if rng.random() < 0.1 else value
            continue
        parent = _get(value, path[:-1])
        key = path[-1]
        current = parent[key]
        roll = rng.random()
        if roll < 0.25 and isinstance(parent, dict):
            del parent[key]
        elif roll < 0.45 and isinstance(current, str) and current:
            cut = rng.randint(0, len(current))
            parent[key] = current[:cut] + rng.choice(["", "\x00", "\n", NAME, current])
        elif roll < 0.55:
            parent[key] = [current]
        else:
            parent[key] = _leaf(rng)
    return value


def variants(template: Any, seed: int, count: int) -> list[Any]:
    """`count` cases: the template itself, then mutations of it."""
    rng = random.Random(seed)
    return [copy.deepcopy(template)] + [mutate(template, rng) for _ in range(count - 1)]


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """Byte-level damage: flips, cuts, NULs, percent signs, invalid UTF-8."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        at = rng.randint(0, len(out)) if out else 0
        if roll < 0.3 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif roll < 0.5:
            del out[at:]
        else:
            out[at:at] = rng.choice([b"\x00", b"%", b"%7B", b"\xff\xfe", b"&payload=",
                                     b"[]", b"{", b"\n", NAME.encode()])
    return bytes(out)


def to_json_bytes(value: Any) -> bytes:
    """JSON as a sender would write it (surrogates and NaN kept as they come)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
