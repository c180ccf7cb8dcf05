"""autograd_stepper: the graph PyTorch records, each node named by the grad_fn PyTorch really created.

The grad_fn names are read from real PyTorch runs; the expected chains are the ones PyTorch's autograd
documents for these operations (and the worksheet's text states for x**2 + 5 summed).
"""

import numpy as np
import pytest
import torch

from autodiff_course.widgets import autograd_stepper
from autodiff_course.widgets.autograd import autograd_names


def worksheet_chain(x):
    y = x**2
    z = y + 5
    l = z.sum()  # noqa: E741 - the worksheet's name
    return l


def tensors_chain(x):
    y = x + 2
    z = y * y * 3
    out = z.mean()
    return out


def _names_by_variable(w) -> dict[str, str]:
    table = w.table
    out = {}
    for row in table.split("<tr>")[2:]:
        cells = [c.split("<")[0] for c in row.replace("<th scope=\"row\">", "<td>").split("<td>")[1:]]
        name = cells[0].split(" ")[0]
        out[name] = row.split("</td>")[2].split("<td>")[-1]
    return out


def test_the_worksheets_chain_is_the_one_pytorch_records():
    w = autograd_stepper(worksheet_chain, torch.linspace(-1, 1, 3))
    grad_fns = {k: v for k, v in _names_by_variable(w).items() if v}  # the constants 2 and 5 have none
    assert grad_fns == {"x": "AccumulateGrad", "y": "PowBackward0", "z": "AddBackward0", "l": "SumBackward0"}
    # And the same names PyTorch gives, read off a real run.
    x = torch.linspace(-1, 1, 3, requires_grad=True)
    l = worksheet_chain(x)  # noqa: E741
    assert l.grad_fn.name() == "SumBackward0"
    assert l.grad_fn.next_functions[0][0].name() == "AddBackward0"
    for shown in ("leaf (AccumulateGrad)", "PowBackward0", "AddBackward0", "SumBackward0"):
        assert f">{shown}</text>" in w.svg  # the drawing names each node as PyTorch does
    lines = [line for s in w.steps for line in s["lines"] if "PyTorch" in line]
    assert "in PyTorch: y.grad_fn (PowBackward0) sends this back to x" in lines


def test_a_product_of_a_tensor_with_itself_reaches_it_twice():
    w = autograd_stepper(tensors_chain, torch.ones(2, 2))
    into_y = [s for s in w.steps if s["title"].startswith("Reverse pass: edge y")]
    assert len(into_y) == 2
    assert all("MulBackward0" in s["lines"][-1] for s in into_y)
    # The adjoint of x matches PyTorch's x.grad: d(mean(3 (x+2)^2))/dx = 6 (x+2) / 4 = 4.5 at x = 1.
    assert w.labels()["x"]["derivative"] == ""  # nothing shown before stepping
    w.go(w.n_steps)
    assert w.labels()["x"]["derivative"] == "xbar = [4.5, 4.5, 4.5, 4.5]"
    x = torch.ones(2, 2, requires_grad=True)
    tensors_chain(x).backward()
    assert np.allclose(x.grad.numpy(), 4.5)


def test_graphs_that_differ_are_an_error_naming_the_node():
    data = {
        "format": "autodiff-course.graph/1",
        "inputs": [0],
        "outputs": [1],
        "nodes": [
            {"id": 0, "name": "x", "names": ["x"], "op": "input", "inputs": [], "value": 1.0},
            {"id": 1, "name": "y", "names": ["y"], "op": "mul", "inputs": [0, 0], "value": 1.0},
        ],
    }
    x = torch.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="y: PyTorch recorded SinBackward0 with 1 tracked inputs"):
        autograd_names(data, torch.sin(x))
    with pytest.raises(ValueError, match="no grad_fn"):
        autograd_names(data, torch.tensor(2.0))
