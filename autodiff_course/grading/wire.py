"""The grading wire: length-prefixed JSON frames, bounded as they are read, and the schema of what may cross.

Frames are a 4-byte big-endian length and that many bytes of JSON. Every frame the grader writes is encoded
with ``ensure_ascii=True`` and no spaces: that is the *canonical* encoding, and `canonical_size` of a value is
the length of it. A value's canonical size is an upper bound of every later encoding the grader makes of it
(UTF-8 JSON, nbformat's files), so a budget charged in canonical bytes cannot be overrun by re-encoding
non-ASCII text (a 3-byte UTF-8 character is 6 canonical bytes, never more later).

`FrameReader` refuses a frame from its 4-byte header, before buffering it, when it is longer than the frame
limit or than what is left of the stream's total budget. `clean_output` / `clean_error` / `clean_data` accept
only the documented shapes of untrusted data, replace lone surrogates (which no UTF-8 file can hold) and
refuse nesting deeper than `MAX_DEPTH`; each raises `ProtocolError` naming what is wrong.
"""

from __future__ import annotations

import json
import os
import re
import struct

__all__ = [
    "MAX_DEPTH",
    "ProtocolError",
    "FrameReader",
    "canonical_size",
    "clean_data",
    "clean_error",
    "clean_output",
    "clean_text",
    "encode_frame",
    "write_frame",
]

_HEADER = struct.Struct(">I")
#: Deepest nesting accepted in data from the sandbox (honest collector data and outputs are a few levels).
MAX_DEPTH = 32
OUTPUT_TYPES = ("stream", "display_data", "execute_result", "error")
# A str holds a surrogate code point only when it was alone (JSON decoding joins proper pairs).
_SURROGATE = re.compile("[\ud800-\udfff]")


class ProtocolError(Exception):
    """A frame on a grading pipe is malformed, out of sequence or larger than allowed."""


def encode_frame(obj) -> bytes:
    data = json.dumps(obj, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return _HEADER.pack(len(data)) + data


def write_frame(fd: int, obj) -> None:
    """Write one frame to a raw file descriptor (all of it, retrying short writes)."""
    view = memoryview(encode_frame(obj))
    while view:
        n = os.write(fd, view)
        view = view[n:]


def canonical_size(value) -> int:
    """Bytes of `value` in the canonical (ASCII) JSON encoding: the most any later encoding of it takes."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=True))


class FrameReader:
    """Incremental parser of frames from untrusted bytes; `feed` returns the complete objects so far.

    `max_bytes` bounds one frame, `total_bytes` (default unbounded) the whole stream; both are checked on
    the header, so an oversized frame is refused before its body is buffered. Raises ProtocolError for a
    frame over either limit, or one that is not JSON (too deeply nested JSON included).
    """

    def __init__(self, max_bytes: int, total_bytes: int | None = None):
        self.max_bytes = max_bytes
        self.left = total_bytes
        self.error: ProtocolError | None = None
        self._buf = bytearray()

    def feed(self, data: bytes) -> list:
        """The frames completed by `data`. A bad frame raises ProtocolError, but only once the frames before
        it have been returned (the error is then raised by the next call), so their order is kept."""
        if self.error is not None:
            raise self.error
        self._buf += data
        out = []
        try:
            while len(self._buf) >= _HEADER.size:
                (n,) = _HEADER.unpack_from(self._buf)
                if n > self.max_bytes:
                    raise ProtocolError(f"frame of {n} bytes exceeds the limit of {self.max_bytes}")
                if self.left is not None and _HEADER.size + n > self.left:
                    raise ProtocolError(f"frame of {n} bytes exceeds what is left of the stream's budget "
                                        f"({max(0, self.left - _HEADER.size)} bytes)")
                if len(self._buf) < _HEADER.size + n:
                    break
                raw = bytes(self._buf[_HEADER.size:_HEADER.size + n])
                del self._buf[:_HEADER.size + n]
                if self.left is not None:
                    self.left -= _HEADER.size + n
                try:
                    out.append(json.loads(raw))
                except (ValueError, RecursionError) as exc:
                    raise ProtocolError(f"frame is not JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
        except ProtocolError as exc:
            self._buf.clear()
            if not out:
                raise
            self.error = exc
        return out

    @property
    def pending(self) -> int:
        return len(self._buf)


def clean_text(s: str) -> str:
    """`s` with every lone surrogate replaced by U+FFFD (what a UTF-8 file can hold)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", s)


def clean_data(value, what: str = "data", depth: int = 0):
    """A copy of the JSON value `value` with clean strings (keys too); ProtocolError beyond `MAX_DEPTH`."""
    if depth > MAX_DEPTH:
        raise ProtocolError(f"{what} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_data(v, what, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_data(v, what, depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    raise ProtocolError(f"{what} holds a {type(value).__name__}")


def _str(value, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} must be a string, got {type(value).__name__}")
    return clean_text(value)


def _lines(value, what: str) -> list[str]:
    if not isinstance(value, list):
        raise ProtocolError(f"{what} must be a list of strings")
    return [_str(v, what) for v in value]


def clean_error(err, what: str = "error") -> dict | None:
    """None, or ``{"ename": str, "evalue": str, "traceback": [str]}`` from an untrusted error dict."""
    if err is None:
        return None
    if not isinstance(err, dict):
        raise ProtocolError(f"{what} must be an object")
    return {"ename": _str(err.get("ename"), f"{what}.ename"), "evalue": _str(err.get("evalue"), f"{what}.evalue"),
            "traceback": _lines(err.get("traceback", []), f"{what}.traceback")}


def clean_output(out, what: str = "output") -> dict:
    """An nbformat 4 output dict rebuilt from untrusted `out`, with only the fields nbformat defines."""
    if not isinstance(out, dict):
        raise ProtocolError(f"{what} must be an object")
    kind = out.get("output_type")
    if kind not in OUTPUT_TYPES:
        raise ProtocolError(f"{what} has output_type {str(kind)[:40]!r}")
    if kind == "stream":
        name = out.get("name")
        if name not in ("stdout", "stderr"):
            raise ProtocolError(f"{what} is a stream named {str(name)[:40]!r}")
        text = out.get("text")
        text = "".join(_lines(text, f"{what}.text")) if isinstance(text, list) else _str(text, f"{what}.text")
        return {"output_type": "stream", "name": name, "text": text}
    if kind == "error":
        return {"output_type": "error", **clean_error(out, what)}
    data, metadata = out.get("data"), out.get("metadata", {})
    if not isinstance(data, dict) or not isinstance(metadata, dict):
        raise ProtocolError(f"{what}: data and metadata must be objects")
    cleaned = {"output_type": kind, "data": clean_data(data, f"{what}.data", 1),
               "metadata": clean_data(metadata, f"{what}.metadata", 1)}
    if kind == "execute_result":
        count = out.get("execution_count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise ProtocolError(f"{what}.execution_count must be an integer")
        cleaned["execution_count"] = count
    return cleaned
