"""Values an answer keeps as attributes of an object or under the keys of a dict, and the names they go by.

An honest answer may keep its intermediate values, tangents or adjoints in an object (``s.v3 = np.sin(s.v0)``
on a ``SimpleNamespace``, a class with ``__slots__``, ``self.v3`` in a method) or in a dict (``v['v3']``,
``adj["v3"] += ...``, ``v[3]``). Each such place is a variable the student wrote, named as they wrote it: an
attribute ``s.v3``, a string key ``v['v3']`` (quoted as the answer's text quotes that dict's keys, see
``quote``), a whole-number key ``v[3]`` (as an item of a list is named). The source facts (checks/source.py)
name the lines' targets the same way, so what a line assigns and what the tracer saw held agree.

Only a short identifier the answer's text writes names a key or an attribute (and a whole number below
``MAX_KEY``): a name made while the function runs (``v[f"{x0}"]``, ``setattr(s, ...)``) could spell out the
inputs of a hidden point (a traced value's ``str`` holds its number), so such an entry names nothing. Reading
an entry never runs the student's code: attributes are read through the type's own slot and ``__dict__``
descriptors, never ``getattr``.
"""

from __future__ import annotations

import itertools
import re
import types
from typing import Any

#: The modules whose objects are not the student's holders of values (their attributes are their own).
_LIBRARIES = frozenset({"numpy", "torch", "autodiff_course", "scipy", "pandas", "sympy", "jax"})
#: A key or attribute that names a value: an identifier of at most 32 characters with at most 3 digits (the
#: shape of ``vbar12``, not of a record of numbers), as ``checks.privacy.plausible_token`` repeats.
_SHORT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_DIGITS = 3
#: Whole-number keys name an entry below this (``v[3]``; as many as a list's items read, ``tracing.MAX_ITEMS``).
MAX_KEY = 1000
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined in Python (the student's), not a built-in one

_READERS: dict[type, tuple[tuple[str, Any], ...] | None] = {}


def short_name(text) -> bool:
    """Whether ``text`` may name an attribute or a key (module docstring)."""
    return (isinstance(text, str) and _SHORT.fullmatch(text) is not None
            and sum(c.isdigit() for c in text) <= _DIGITS)


def _readers(t: type) -> tuple[tuple[str, Any], ...] | None:
    """The descriptors that read an instance of ``t``'s own attributes: its slots by name and its ``__dict__``
    (under ""); None for a type whose instances hold no values of the student's (a built-in type but
    ``SimpleNamespace``, a library's class)."""
    if t in _READERS:
        return _READERS[t]
    found: tuple[tuple[str, Any], ...] | None = None
    module = str(getattr(t, "__module__", "") or "").split(".")[0]
    if (t is types.SimpleNamespace or t.__flags__ & _HEAPTYPE) and module not in _LIBRARIES:
        readers: dict[str, Any] = {}
        for klass in t.__mro__:
            for name, d in vars(klass).items():
                if name == "__dict__" and isinstance(d, (types.GetSetDescriptorType, types.MemberDescriptorType)):
                    readers.setdefault("", d)
                elif isinstance(d, types.MemberDescriptorType) and name != "__weakref__":
                    readers.setdefault(name, d)
        found = tuple(readers.items())
    if len(_READERS) < 4096:
        _READERS[t] = found
    return found


def holds_attributes(value) -> bool:
    """Whether ``value`` is an object whose attributes may hold the student's values."""
    return not isinstance(value, type) and _readers(type(value)) is not None


def entries(value, limit: int, quote: str = "'", written: frozenset[str] | None = None,
            keep=None) -> list[tuple[str, Any]]:
    """``(accessor, item)`` for what ``value`` holds by name (of its first ``limit`` entries): ``(".v3", item)``
    for an object's attribute, ``("['v3']", item)`` for a dict's string key (quoted with ``quote``), ``("[3]",
    item)`` for a whole-number key; [] for anything else (a list's items are ``tracing.container_items``). With
    ``written`` (the words of the answer's text), only a key or an attribute written there names an entry;
    with ``keep``, only an item it keeps is named (asked first: this runs at every node made)."""
    def named(key, item) -> bool:
        return ((keep is None or keep(item)) and type(key) is str and (written is None or key in written)
                and short_name(key))

    out = []
    if isinstance(value, dict):
        # dict's own items (a subclass's ``items`` is the student's code).
        for key, item in itertools.islice(dict.items(value), limit):
            if type(key) is int and 0 <= key < MAX_KEY and (keep is None or keep(item)):
                out.append((f"[{key}]", item))
            elif named(key, item):
                out.append((f"[{quote}{key}{quote}]", item))
        return out
    readers = None if isinstance(value, type) else _readers(type(value))
    for name, descriptor in readers or ():
        try:
            got = descriptor.__get__(value, type(value))
        except AttributeError:  # a slot not assigned yet
            continue
        if name and named(name, got):
            out.append((f".{name}", got))
        elif not name and isinstance(got, dict):
            out += [(f".{k}", v) for k, v in itertools.islice(dict.items(got), limit) if named(k, v)]
    return out[:limit]


def words(text: str) -> frozenset[str]:
    """The identifiers ``text`` writes: the keys and attributes that may name an entry (a key made while the
    function runs from what it computed, ``v["d" + str(x0)[5]]``, is written nowhere; one chosen among words
    the text writes tells no more than the choice)."""
    return frozenset(re.findall(r"[A-Za-z_]\w*", text))


def quote(text: str, holder: str) -> str:
    """The quote the answer's ``text`` writes ``holder``'s string keys with: ``"`` when it writes
    ``holder["...`` and never ``holder['...``, else ``'``. The tracer and the source facts both ask this of the
    function's own text, so a name reads as the student wrote it (``adj["v3"]``) and both spell it alike."""
    if not text or f'{holder}["' not in text:
        return "'"
    if re.search(rf"(?<![\w.]){re.escape(holder)}\[\"", text) and not re.search(
            rf"(?<![\w.]){re.escape(holder)}\['", text):
        return '"'
    return "'"
