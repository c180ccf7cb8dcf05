"""No active content from a student reaches the instructor: outputs and markdown of graded notebooks.

Formgrader and nbconvert show a graded notebook's outputs as they are, so a student's ``<script>``, a
``application/javascript`` output or ``<img onerror=...>`` would run in the instructor's browser. Here
JavaScript outputs are dropped, and HTML / SVG keep their text, markup and images but lose scripts,
frames, plugins, event-handler attributes and ``javascript:`` links. Markup with nothing active is kept
byte for byte (an honest table or graph is not rewritten).
"""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

__all__ = ["clean_attachments", "clean_markdown", "clean_markup", "clean_output", "is_active_mime"]

_DROP_WITH_CONTENT = {"script", "iframe", "frame", "frameset", "object", "embed", "applet",
                      "noscript", "template"}
_DROP_TAG = {"base", "meta", "link", "form", "input", "button", "textarea", "select", "option", "portal",
             "foreignobject", "animate", "set", "animatemotion", "animatetransform", "handler", "listener"}
_URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "srcset",
              "lowsrc", "dynsrc", "codebase", "cite", "longdesc", "usemap", "ping"}
_SAFE_DATA_URL = re.compile(r"^data:image/(png|jpeg|gif|webp|bmp);", re.IGNORECASE)
_ACTIVE = re.compile(r"<\s*/?\s*(script|iframe|frame|object|embed|applet|base|meta|link|form|template|portal|"
                     r"foreignobject|animate|set|handler|listener)\b|\bon[a-z]+\s*=|(java|vb|live)script\s*:|"
                     r"data\s*:\s*text|srcdoc|expression\s*\(", re.IGNORECASE)


def is_active_mime(mime: str) -> bool:
    """Output types a page runs as code. A widget view counts: nbconvert's page loads the widget renderer,
    which draws the widget state the student's notebook carries (HTML widgets render their value as HTML);
    the graded notebook keeps the output's other forms (the stepper's self-contained HTML among them)."""
    m = mime.lower()
    return ("javascript" in m or "ecmascript" in m or m in ("text/x-python-js", "application/x-shockwave-flash")
            or m.startswith("application/vnd.jupyter.widget"))


def _url_ok(value: str) -> bool:
    compact = re.sub(r"[\s\x00-\x1f]+", "", html.unescape(value)).lower()
    if compact.startswith(("javascript:", "vbscript:", "livescript:")):
        return False
    return not compact.startswith("data:") or bool(_SAFE_DATA_URL.match(compact))


def _spelled(word: str) -> str:
    """A pattern for ``word`` written with any letter as itself or as an HTML character reference, with
    blanks or control characters between letters (how browsers and markdown renderers still read a scheme)."""
    parts = [rf"(?:{re.escape(c)}|&#0*{ord(c)};?|&#x0*{ord(c):x};?)" for c in word]
    return _BLANKS.join(parts)


#: What a browser drops from a URL, written raw or as a character reference (`jav&#x09;ascript:`).
_BLANKS = r"(?:[\s\x00-\x1f]|&#0*(?:9|10|13);?|&#x0*(?:9|a|d);?|&tab;|&newline;)*"


#: A script scheme however it is spelled: `javascript:`, `JaVaScRiPt :`, `&#106;avascript:`.
_SCRIPT_SCHEME = re.compile("|".join(_spelled(w) + _BLANKS + r"(?::|&#0*58;?|&#x0*3a;?|&colon;)"
                                     for w in ("javascript", "vbscript", "livescript")), re.IGNORECASE)


class _Cleaner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip: list[str] = []

    def _attrs(self, attrs) -> str:
        kept = []
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on") or name == "srcdoc":
                continue
            if value is not None and name in _URL_ATTRS and not _url_ok(value):
                continue
            if value is not None and name == "style" and _ACTIVE.search(html.unescape(value)):
                continue
            kept.append(f" {name}" if value is None else f' {name}="{html.escape(value, quote=True)}"')
        return "".join(kept)

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag in _DROP_WITH_CONTENT:
                self.skip.append(tag)
            return
        if tag in _DROP_WITH_CONTENT:
            self.skip.append(tag)
        elif tag not in _DROP_TAG:
            self.out.append(f"<{tag}{self._attrs(attrs)}>")

    def handle_startendtag(self, tag, attrs):
        if not self.skip and tag not in _DROP_WITH_CONTENT and tag not in _DROP_TAG:
            self.out.append(f"<{tag}{self._attrs(attrs)}/>")

    def handle_endtag(self, tag):
        if self.skip:
            if tag == self.skip[-1]:
                self.skip.pop()
            return
        if tag not in _DROP_WITH_CONTENT and tag not in _DROP_TAG:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(html.escape(data, quote=False))


def clean_markup(text: str) -> str:
    """`text` (HTML or SVG) without scripts, frames, event handlers or script links; unchanged when it
    has nothing that could be active."""
    # A scheme with a tab or a newline inside (`jav&#x09;ascript:`) is still one to a browser, which drops
    # them from URLs: the quick test must read it as `_url_ok` does.
    if not _ACTIVE.search(text) and not _ACTIVE.search(html.unescape(text)) and not _SCRIPT_SCHEME.search(text):
        return text
    cleaner = _Cleaner()
    cleaner.feed(text)
    cleaner.close()
    return "".join(cleaner.out)


def clean_markdown(text: str) -> str:
    """Markdown (a cell, or a ``text/markdown`` output) as ``clean_markup`` leaves its raw HTML, and with
    every script scheme in it made inert, whatever the link syntax: ``[t](javascript:...)``, ``<javascript:...>``,
    a reference definition ``[r]: javascript:...``. Unchanged when it has nothing of either."""
    text = clean_markup(text)
    return _SCRIPT_SCHEME.sub("blocked-script:", text)


#: Attachments kept in a markdown cell: raster images only (an SVG or HTML one can script), as base64 text
#: (nbconvert pastes it into a ``src="data:..."`` attribute, so a quote in it would end the attribute).
_SAFE_ATTACHMENT_TYPES = ("image/png", "image/jpeg", "image/gif")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
#: ``attachment:`` however markdown may spell it (character references, a backslash-escaped colon), and the
#: name after it up to where a link destination ends.
_ATTACHMENT_REF = re.compile(_spelled("attachment") + _BLANKS + r"(?::|\\:|&#0*58;?|&#x0*3a;?|&colon;)"
                             + r"""([^\s)"'>]*)""", re.IGNORECASE)
#: Names kept: what markdown renderers pass through unchanged (no entity, escape or percent sign to decode).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]{1,200}")


def clean_attachments(source: str, attachments) -> tuple[str, dict]:
    """A markdown cell's ``source`` and ``attachments`` as they may be rendered: only raster images in base64
    are kept, and every ``attachment:`` reference that is not literally one of those names becomes the inert
    ``removed-attachment:`` (nbconvert refuses a notebook whose markdown names an attachment it lacks, so a
    dropped SVG or a made-up name would stop the instructor's HTML view of the whole notebook)."""
    kept = {}
    for name, bundle in (attachments if isinstance(attachments, dict) else {}).items():
        if not isinstance(name, str) or not _PLAIN_NAME.fullmatch(name) or not isinstance(bundle, dict):
            continue
        images = {m: v for m, v in bundle.items()
                  if m in _SAFE_ATTACHMENT_TYPES and isinstance(v, str) and _BASE64.fullmatch(v)}
        if images:
            kept[name] = images

    def reference(match: re.Match) -> str:
        text = match.group(0)
        if text.startswith("attachment:") and match.group(1) in kept:
            return text
        return "removed-attachment:" + match.group(1)

    return _ATTACHMENT_REF.sub(reference, source), kept


#: What output metadata may say per MIME type; nbconvert writes it into attributes unescaped (an image's
#: ``height`` of ``1 onerror=...`` becomes an event handler), so anything else is dropped.
_SAFE_METADATA = {"width": (int, float), "height": (int, float), "unconfined": (bool,), "isolated": (bool,)}


def _allowed(key: str, value) -> bool:
    if _SAFE_METADATA[key] == (bool,):
        return isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _clean_metadata(metadata) -> dict:
    if not isinstance(metadata, dict):
        return {}
    out = {}
    for mime, entry in metadata.items():
        if not isinstance(entry, dict):
            continue
        kept = {k: v for k, v in entry.items() if k in _SAFE_METADATA and _allowed(k, v)}
        if kept:
            out[mime] = kept
    return out


def _text(value) -> str | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def clean_output(out: dict) -> dict | None:
    """An nbformat output without active content; None when nothing of it is left to show."""
    if out.get("output_type") not in ("display_data", "execute_result"):
        return out
    data = {}
    for mime, value in (out.get("data") or {}).items():
        if is_active_mime(mime):
            continue
        text = _text(value)
        lower = mime.lower()
        if "markdown" in lower and text is not None:
            value = clean_markdown(text)  # rendered to HTML, raw HTML and links included
        elif ("html" in lower or "svg" in lower or "xml" in lower) and text is not None:
            value = clean_markup(text)
        elif "html" in lower or "svg" in lower or "markdown" in lower:
            continue  # markup that is not text: nothing to show safely
        data[mime] = value
    if not data:
        return None
    return {**out, "data": data, "metadata": _clean_metadata(out.get("metadata"))}
