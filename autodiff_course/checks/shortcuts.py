"""A derivative a function exercise's answer takes from somewhere other than the chain rule, read from the
text of the student's function (parsed on the trusted side, never run).

Two such ways stop the checker from following the answer: PyTorch's autograd (a tensor made with
``requires_grad``, ``backward()``, ``.grad``, ``torch.autograd``) and a complex step (``complex(x0, h)``,
``cmath``, a number such as ``1e-20j``, ``np.imag``). Their failure is otherwise told in the words of what the
tracing saw (a PyTorch error about dtypes, a value turned into a plain number), which do not say what the
student did; ``derivative_shortcut`` names it, with the line that shows it. The words quote only the names the
line uses (never its text: at a hidden point a line's text could spell the point out), so they can be shown
at every point.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from .source import MAX_SOURCE_CHARS

_AUTOGRAD_ATTRIBUTES = {"backward": "`backward()`", "requires_grad": "`requires_grad`",
                        "requires_grad_": "`requires_grad_()`", "grad": "`.grad`", "autograd": "`torch.autograd`"}


@dataclass(frozen=True)
class Shortcut:
    kind: str  # "torch" or "complex-step"
    line: int
    uses: tuple[str, ...]  # the names the student's code uses, as feedback quotes them

    def words(self, mode: str) -> str:
        """The message for an exercise whose derivatives (``mode``: forward or reverse) are to be written by
        hand."""
        what = "tangents" if mode == "forward" else "adjoints"
        uses = ", ".join(self.uses)
        if self.kind == "torch":
            how = (f"Your function computes its derivative with PyTorch's autograd (line {self.line}: {uses}), "
                   "not by hand.")
        else:
            how = (f"Your function computes its derivative with a complex step (line {self.line}: {uses}): a "
                   "complex-step derivative is a numerical estimate, not the chain rule.")
        return (f"{how} This exercise asks you to write the {what} yourself, one chain-rule step per variable, "
                "with operators and numpy functions on your own variables: the checker follows those steps, and "
                "it cannot follow this computation.")


def derivative_shortcut(raw_source) -> Shortcut | None:
    """The first use of PyTorch's autograd or of a complex step in the student's function (see the module),
    or None (also for a text that is missing or does not parse)."""
    if not isinstance(raw_source, dict) or not isinstance(raw_source.get("text"), str):
        return None
    first = raw_source.get("first_line")
    offset = first - 1 if isinstance(first, int) and not isinstance(first, bool) else 0
    import textwrap

    try:
        nodes = list(ast.walk(ast.parse(textwrap.dedent(raw_source["text"][:MAX_SOURCE_CHARS]))))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    uses_torch = any(isinstance(n, ast.Name) and n.id == "torch" for n in nodes) or any(
        isinstance(n, (ast.Import, ast.ImportFrom)) and "torch" in ast.dump(n) for n in nodes)
    found: dict[str, dict[int, list[str]]] = {"torch": {}, "complex-step": {}}

    def add(kind: str, node, words: str) -> None:
        found[kind].setdefault(getattr(node, "lineno", 0) + offset, []).append(words)

    for n in nodes:
        if uses_torch and isinstance(n, ast.Attribute) and n.attr in _AUTOGRAD_ATTRIBUTES:
            add("torch", n, _AUTOGRAD_ATTRIBUTES[n.attr])
        elif uses_torch and isinstance(n, ast.keyword) and n.arg == "requires_grad":
            add("torch", n.value, "`requires_grad`")
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "complex":
            add("complex-step", n, "`complex(...)`")
        elif isinstance(n, ast.Name) and n.id == "cmath":
            add("complex-step", n, "`cmath`")
        elif isinstance(n, ast.Constant) and isinstance(n.value, complex):
            add("complex-step", n, "an imaginary number (`...j`)")
        elif isinstance(n, ast.Attribute) and n.attr in ("imag", "complex128", "complex64"):
            add("complex-step", n, f"`.{n.attr}`")
    for kind in ("torch", "complex-step"):
        if found[kind]:
            line = min(found[kind])
            return Shortcut(kind, line, tuple(dict.fromkeys(found[kind][line])))
    return None
