"""The graph PyTorch's autograd records for a function, as a stepper: each node labelled with its `grad_fn`.

The stepper's graph is the engine's trace of the function (names from its variables, values in float64);
the same function is run once more on PyTorch tensors, and its `grad_fn` chain (`grad_fn.next_functions`
down to the leaves' `AccumulateGrad`) is walked alongside the trace, node for node. So every `grad_fn` the
stepper names is the one PyTorch really recorded, and a function whose two graphs differ is an error, not a
picture of something PyTorch did not do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["autograd_stepper", "autograd_names"]


def autograd_names(data: Mapping, output: Any) -> dict[int, str]:
    """Node id -> the name of the `grad_fn` PyTorch recorded for it (`"AccumulateGrad"` for a leaf), pairing
    the graph data `data` (one output) with the torch tensor `output` computed by the same code.

    Constants are not tracked by PyTorch (`next_functions` holds None for a tensor operand, nothing for a
    Python number), so both sides skip them. Raises ValueError where the two graphs differ.
    """
    by_id = {n["id"]: n for n in data["nodes"]}
    if output.grad_fn is None:
        raise ValueError("the PyTorch result has no grad_fn: did its inputs require grad?")
    names: dict[int, str] = {}
    stack = [(data["outputs"][0], output.grad_fn)]
    while stack:
        nid, fn = stack.pop()
        if nid in names:
            continue
        node = by_id[nid]
        names[nid] = type(fn).__name__  # fn.name() spells AccumulateGrad with its C++ namespace
        if node["op"] == "input":
            continue
        tracked = [s for s in node["inputs"] if by_id[s]["op"] != "const"]
        following = [f for f, _ in fn.next_functions if f is not None]
        if len(tracked) != len(following):
            raise ValueError(
                f"{node['name']}: PyTorch recorded {type(fn).__name__} with {len(following)} tracked inputs, the "
                f"trace has {len(tracked)} ({', '.join(by_id[s]['name'] for s in tracked) or 'none'})"
            )
        stack.extend(zip(tracked, following, strict=True))
    return names


def autograd_stepper(fn: Callable, *inputs: Any, mode: str = "reverse", title: str | None = None):
    """A GraphStepper of `fn` at `inputs` (numbers, arrays or torch tensors) whose nodes carry the `grad_fn`
    PyTorch records when it runs `fn` on tensors that require grad.

    `fn` must run both on the engine's values and on torch tensors: operators and tensor methods
    (`x**2`, `y + 5`, `z.sum()`, `h.log()`), not `torch.` functions. Raises ValueError if the graphs differ,
    and what tracing or PyTorch raise for the function.
    """
    import torch

    from ..graph import trace
    from .stepper import GraphStepper

    def plain(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy().astype(float)
        return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=float)

    values = [plain(x) for x in inputs]
    graph = trace(fn, *values)
    leaves = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    output = fn(*leaves)
    names = autograd_names(graph.to_dict(), output)
    label = title or getattr(fn, "__name__", "graph")
    return GraphStepper(graph, mode=mode, title=f"{label}, as autograd records it", autograd=names)
