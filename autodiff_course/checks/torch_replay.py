"""Replaying a traced graph in PyTorch (float64), the independent second opinion on every reference
derivative.

Each node runs through its primitive's own PyTorch equivalent (``Primitive.torch``). Adjoints come from one
backward pass that keeps the gradient of every intermediate tensor (``retain_grad``); tangents from
``torch.autograd.grad`` of each node with respect to the chosen input. The
checkers judge a student only after the engine and PyTorch agree; if they do not, that is the checker's
problem (``InternalCheckError``), never the student's."""

from __future__ import annotations

import math

from ..engine.errors import MissingRuleError
from ..graph import Graph
from .errors import InternalCheckError

#: Engine and PyTorch compute in float64 with different libm routines and summation orders; 1e-8 of the
#: quantity's scale is a million times their rounding and a thousand times tighter than any real disagreement.
AGREE_RTOL = 1e-8


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency of the package
        raise InternalCheckError(
            f"PyTorch is needed to cross-check the reference derivatives: {exc}"
        ) from None
    return torch


def _tensor(torch, value, **kw):
    return torch.tensor(value, dtype=torch.float64, **kw)


def _run(graph: Graph, torch, make_input):
    out = {}
    for n in graph.nodes:
        if n.op == "input":
            out[n.id] = make_input(n)
        elif n.op == "const":
            out[n.id] = _tensor(torch, n.value)
        else:
            try:
                out[n.id] = n.primitive.torch(torch, *(out[i] for i in n.inputs), **n.params)
            except MissingRuleError as exc:
                raise InternalCheckError(
                    f"cannot cross-check {graph.equation(n.id)} with PyTorch: {exc}"
                ) from None
    return out


def torch_adjoints(graph: Graph) -> dict[int, float]:
    """d output / d node for every non-constant node, by PyTorch's backward with retain_grad everywhere."""
    torch = _torch()
    with torch.enable_grad():
        ts = _run(graph, torch, lambda n: _tensor(torch, n.value, requires_grad=True))
        for n in graph.nodes:
            if n.op not in ("input", "const") and ts[n.id].requires_grad:
                ts[n.id].retain_grad()
        out = ts[graph.outputs[0]]
        if not out.requires_grad:
            return {n.id: 0.0 for n in graph.nodes if n.op != "const"}
        out.backward()
    return {
        n.id: (float(ts[n.id].grad) if ts[n.id].grad is not None else 0.0)
        for n in graph.nodes
        if n.op != "const"
    }


def torch_tangents(graph: Graph, wrt_id: int) -> dict[int, float]:
    """d node / d (input ``wrt_id``) for every non-constant node, by PyTorch's autograd.

    Two reverse passes for all nodes at once, not one ``torch.autograd.grad`` per node (quadratic: a graph of
    5000 operations took minutes) and not ``torch.autograd.forward_ad`` (its first use costs about a second
    of imports, which a student's first check would pay): with the nodes stacked into one vector ``z`` and a
    vector ``u``, ``g(u) = u . dz/dx`` is a reverse pass, linear in ``u``, and its gradient with respect to
    ``u`` is ``dz/dx``, every tangent.
    """
    torch = _torch()
    with torch.enable_grad():
        ts = _run(graph, torch, lambda n: _tensor(torch, n.value, requires_grad=n.id == wrt_id))
        x = ts[wrt_id]
        result = {n.id: 0.0 for n in graph.nodes if n.op != "const"}
        result[wrt_id] = 1.0
        ids = [n.id for n in graph.nodes if n.op != "const" and n.id != wrt_id and ts[n.id].requires_grad]
        if not ids:
            return result
        z = torch.stack([ts[i].reshape(()) for i in ids])
        u = torch.zeros(len(ids), dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(z, x, grad_outputs=u, create_graph=True, allow_unused=True)
        if g is None or not g.requires_grad:
            return result
        (tangents,) = torch.autograd.grad(g, u, allow_unused=True)
        if tangents is not None:
            result.update(zip(ids, tangents.tolist(), strict=True))
    return result


def ensure_agreement(
    what: str, engine: dict[int, float], torch_values: dict[int, float], scale: dict[int, float], graph: Graph
) -> None:
    """Raise InternalCheckError naming the node if the engine's and PyTorch's derivatives differ."""
    for nid, theirs in torch_values.items():
        ours = engine.get(nid, 0.0)
        bound = AGREE_RTOL * max(abs(ours), abs(theirs), scale.get(nid, 0.0), 1e-300)
        both_nan = math.isnan(ours) and math.isnan(theirs)
        if not both_nan and not abs(ours - theirs) <= bound:
            raise InternalCheckError(
                f"the engine and PyTorch disagree about the {what} of {graph.nodes[nid].name} "
                f"({graph.equation(nid)}): engine {ours!r}, PyTorch {theirs!r}. This is a fault of the "
                f"checker, "
                "not of your answer."
            )
