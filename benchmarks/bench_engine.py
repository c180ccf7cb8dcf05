"""Engine benchmarks: this engine against micrograd and PyTorch, measured side by side in one run.

    python benchmarks/bench_engine.py [--quick] [--json PATH]

Three figures, each with the targets of the issue:
  scalar reverse  an MLP 16-64-64-1 with ReLU over 10 samples (104,970 nodes) built and backpropagated, and a
                  100,000-step chain; this engine, micrograd and PyTorch 0-d float64 tensors.
                  Target: under 6 us per node, >= 3x faster than micrograd and >= 2x faster than PyTorch.
  scalar forward  a 100,000-operation chain of dual numbers (target: under 1 us per operation), against
                  PyTorch's forward AD (torch.autograd.forward_ad) on a shorter chain.
  tensor          the seed notebook's MLP ([3, 50, 50, 1], sigmoid, MSE, Adam lr 1e-2, batch 100), 1,000
                  steps, this engine (float64, its default) against PyTorch CPU float32 on one thread, from
                  the same initial weights and batches. Target: at most 0.7x PyTorch's time per step.

The garbage collector stays on (it is part of what a student's code pays); numpy's BLAS runs on one thread, as
PyTorch does. Engines run interleaved, each timing is the best of ``--repeats`` runs (the least disturbed by
other processes on the machine). Two calibration lines, a 40-line slotted pure-Python scalar engine and a
pure-Python dual number measured in the same run, tell how loaded the machine was: on an idle machine of the
kind the targets were set on they take about 5.7 us per node and 0.5 us per operation.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import sys
import time
from pathlib import Path

# One thread for numpy's BLAS too, since PyTorch is held to one (before numpy is imported, or it is too late).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import autodiff_course as ac  # noqa: E402
from autodiff_course import Scalar, Tensor, optim  # noqa: E402
from autodiff_course.engine.dual import Dual  # noqa: E402

SIZES = [16, 64, 64, 1]
SAMPLES = 10
CHAIN = 100_000


def mlp_nodes(sizes=SIZES, samples=SAMPLES) -> int:
    """Operations in one build: per neuron nin products, nin sums (+ a ReLU if hidden); plus the loss."""
    per_sample = 0
    for i, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        per_sample += nout * (2 * nin + (1 if i < len(sizes) - 2 else 0))
    return samples * per_sample + samples


# -- calibration: the smallest engines that could do the job, to read figures on a loaded machine ------------
class SlottedValue:
    """A 40-line slotted pure-Python reverse-mode scalar (only +, *, relu): the floor a general engine can
    approach. Its time in the same run tells how loaded the machine was (about 5.7 us per node when idle)."""

    __slots__ = ("data", "grad", "_prev", "_op")

    def __init__(self, data, prev=(), op=""):
        self.data = data
        self.grad = 0.0
        self._prev = prev
        self._op = op

    def __add__(self, other):
        other = other if isinstance(other, SlottedValue) else SlottedValue(other)
        return SlottedValue(self.data + other.data, (self, other), "+")

    __radd__ = __add__

    def __mul__(self, other):
        other = other if isinstance(other, SlottedValue) else SlottedValue(other)
        return SlottedValue(self.data * other.data, (self, other), "*")

    __rmul__ = __mul__

    def relu(self):
        return SlottedValue(self.data if self.data > 0 else 0.0, (self,), "relu")

    def backward(self):
        order, seen, stack = [], {self}, [self]
        while stack:
            node = stack[-1]
            for p in node._prev:
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
                    break
            else:
                order.append(stack.pop())
        self.grad = 1.0
        for node in reversed(order):
            if node._op == "+":
                node._prev[0].grad += node.grad
                node._prev[1].grad += node.grad
            elif node._op == "*":
                a, b = node._prev
                a.grad += b.data * node.grad
                b.grad += a.data * node.grad
            elif node._op == "relu":
                node._prev[0].grad += node.grad * (node.data > 0)


class PlainDual:
    """A pure-Python dual number (only * and sin): the floor for forward mode (~0.5 us per op when idle)."""

    __slots__ = ("p", "t")

    def __init__(self, p, t):
        self.p = p
        self.t = t

    def __mul__(self, other):
        return PlainDual(self.p * other, self.t * other)

    def sin(self):
        return PlainDual(math.sin(self.p), math.cos(self.p) * self.t)


# -- the scalar engines, driven by the same code ------------------------------------------------------------
def _engines():
    engines = {"autodiff_course": lambda v: Scalar(v)}
    try:
        from micrograd.engine import Value

        engines["micrograd"] = lambda v: Value(v)
    except ImportError:  # the bench extra is not installed: report without it
        pass
    import torch

    engines["pytorch 0-d"] = lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)
    engines["40-line slotted"] = lambda v: SlottedValue(v)
    return engines


def _params(make, seed=0):
    rng = random.Random(seed)
    return [[([make(rng.uniform(-1, 1)) for _ in range(nin)], make(0.0)) for _ in range(nout)]
            for nin, nout in zip(SIZES, SIZES[1:])]


def _mlp_loss(layers, xs):
    loss = 0.0
    for x in xs:
        for i, layer in enumerate(layers):
            out = []
            for w, b in layer:
                act = b
                for wi, xi in zip(w, x):
                    act = act + wi * xi
                out.append(act.relu() if i < len(layers) - 1 else act)
            x = out
        loss = loss + x[0]
    return loss


def _chain(x, n):
    # Alternating operations, so that no engine can fold the chain.
    y = x
    for _ in range(n // 2):
        y = y * 0.999999
        y = y + 0.001
    return y


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench_scalar_reverse(repeats: int) -> dict:
    engines = _engines()
    rng = random.Random(1)
    xs = [[rng.uniform(-1, 1) for _ in range(SIZES[0])] for _ in range(SAMPLES)]
    nodes = mlp_nodes()
    params = {name: _params(make) for name, make in engines.items()}
    best = {name: float("inf") for name in engines}
    for _ in range(repeats):
        for name in engines:
            def run(name=name):
                _mlp_loss(params[name], xs).backward()

            best[name] = min(best[name], _time(run))
            gc.collect()  # drop this graph outside the timed region, so the next engine starts equal
    mlp = {name: best[name] / nodes * 1e6 for name in engines}

    chain = {}
    for name, make in engines.items():
        x = make(0.5)

        def run(x=x):
            _chain(x, CHAIN).backward()

        try:
            chain[name] = _time(run) / CHAIN * 1e6
        except RecursionError:
            chain[name] = "RecursionError"
        gc.collect()
    return {"mlp_nodes": nodes, "mlp_us_per_node": mlp, "chain_steps": CHAIN, "chain_us_per_node": chain}


def bench_scalar_forward(repeats: int, torch_ops: int = 1_000) -> dict:
    import torch
    import torch.autograd.forward_ad as fwAD

    def dual_chain(n, make=Dual):
        y = make(0.5, 1.0)
        for _ in range(n // 2):
            y = y * 0.999999
            y = y.sin()
        return y

    ours = plain = float("inf")
    for _ in range(repeats):
        ours = min(ours, _time(lambda: dual_chain(CHAIN)) / CHAIN * 1e6)
        plain = min(plain, _time(lambda: dual_chain(CHAIN, PlainDual)) / CHAIN * 1e6)

    def torch_chain(n):
        with fwAD.dual_level():
            y = fwAD.make_dual(torch.tensor(0.5, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
            for _ in range(n // 2):
                y = y * 0.999999
                y = y.sin()
            return fwAD.unpack_dual(y).tangent

    torch_chain(100)  # the first forward-AD operations pay a one-off set-up of seconds
    theirs = min(_time(lambda: torch_chain(torch_ops)) for _ in range(repeats)) / torch_ops * 1e6
    return {"chain_ops": CHAIN, "dual_us_per_op": ours, "plain_dual_us_per_op": plain,
            "torch_forward_ad_us_per_op": theirs}


# -- the seed notebook's MLP ---------------------------------------------------------------------------------
def seed_problem(seed: int = 0, n: int = 10_000):
    """Inputs, targets and initial weights of the seed notebook's MLP, as float64 numpy arrays."""
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, 3))
    targets = np.sqrt(inputs[:, [0]] / inputs[:, [1]]) * np.sin(inputs[:, [0]] * inputs[:, [1]]) \
        * np.exp(inputs[:, [2]])
    shape = [3, 50, 50, 1]
    weights = [rng.random((a, b)) for a, b in zip(shape, shape[1:])]
    biases = [np.zeros(b) for b in shape[1:]]
    return inputs, targets, weights, biases


def bench_tensor_mlp(steps: int, repeats: int, batch: int = 100) -> dict:
    import torch

    torch.set_num_threads(1)
    inputs, targets, w0, b0 = seed_problem()
    batches = np.random.default_rng(1).integers(0, len(inputs), (steps, batch))

    def ours():
        params = [Tensor(w, requires_grad=True) for w in w0] + [Tensor(b, requires_grad=True) for b in b0]
        ws, bs = params[:3], params[3:]
        opt = optim.Adam(params, lr=1e-2)
        for k in batches:
            x, y = Tensor(inputs[k]), Tensor(targets[k])
            opt.zero_grad()
            for i in range(3):
                x = x @ ws[i] + bs[i]
                if i < 2:
                    x = ac.sigmoid(x)
            loss = ((x - y) ** 2).mean()
            loss.backward()
            opt.step()
        return loss.item()

    def theirs():
        ws = [torch.tensor(w, dtype=torch.float32, requires_grad=True) for w in w0]
        bs = [torch.tensor(b, dtype=torch.float32, requires_grad=True) for b in b0]
        opt = torch.optim.Adam(ws + bs, lr=1e-2)
        lossfn = torch.nn.MSELoss()
        tin = torch.tensor(inputs, dtype=torch.float32)
        tout = torch.tensor(targets, dtype=torch.float32)
        for k in batches:
            k = torch.from_numpy(k)
            x, y = tin[k], tout[k]
            opt.zero_grad()
            for i in range(3):
                x = torch.matmul(x, ws[i]) + bs[i]
                if i < 2:
                    x = torch.sigmoid(x)
            loss = lossfn(x, y)
            loss.backward()
            opt.step()
        return loss.item()

    def by_hand():
        # The same training written out in numpy (float64), backward pass by hand: the floor for any engine.
        ws, bs = [w.copy() for w in w0], [b.copy() for b in b0]
        params = ws + bs
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        lr, b1, b2, eps = 1e-2, 0.9, 0.999, 1e-8
        for t, k in enumerate(batches, 1):
            x, y = inputs[k], targets[k]
            h1 = 1 / (1 + np.exp(-(x @ ws[0] + bs[0])))
            h2 = 1 / (1 + np.exp(-(h1 @ ws[1] + bs[1])))
            d = h2 @ ws[2] + bs[2] - y
            g = 2 * d / d.size
            gw2, gb2 = h2.T @ g, g.sum(0)
            g = (g @ ws[2].T) * h2 * (1 - h2)
            gw1, gb1 = h1.T @ g, g.sum(0)
            g = (g @ ws[1].T) * h1 * (1 - h1)
            grads = [x.T @ g, gw1, gw2, g.sum(0), gb1, gb2]
            for p, gg, mm, vv in zip(params, grads, m, v):
                mm += (1 - b1) * (gg - mm)
                vv *= b2
                vv += (1 - b2) * gg * gg
                p -= lr / (1 - b1 ** t) * mm / (np.sqrt(vv) / math.sqrt(1 - b2 ** t) + eps)

    t_ours = t_theirs = t_hand = float("inf")
    for _ in range(repeats):
        t_ours = min(t_ours, _time(ours))
        t_theirs = min(t_theirs, _time(theirs))
        t_hand = min(t_hand, _time(by_hand))
    return {"steps": steps, "ours_ms_per_step": t_ours / steps * 1e3,
            "torch_f32_ms_per_step": t_theirs / steps * 1e3,
            "numpy_by_hand_ms_per_step": t_hand / steps * 1e3,
            "ratio": t_ours / t_theirs}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one repeat and 200 tensor steps (a smoke run)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    gc.enable()

    print("== engine: scalar reverse mode (build + backward, us per node; lower is better)")
    rev = bench_scalar_reverse(repeats)
    mlp = rev["mlp_us_per_node"]
    ours = mlp["autodiff_course"]
    print(f"  MLP 16-64-64-1 ReLU x {SAMPLES} samples ({rev['mlp_nodes']:,} nodes):")
    for name, us in mlp.items():
        ratio = "" if name == "autodiff_course" else f"   autodiff_course is {us / ours:.1f}x faster"
        if name == "40-line slotted":
            ratio = f"   (calibration: ~5.7 when idle; autodiff_course takes {ours / us:.2f}x its time)"
        print(f"    {name:<16} {us:6.2f} us/node{ratio}")
    print(f"  chain of {CHAIN:,} steps:")
    for name, us in rev["chain_us_per_node"].items():
        print(f"    {name:<16} {us if isinstance(us, str) else f'{us:6.2f} us/node'}")

    print("== engine: scalar forward mode (dual numbers, us per operation)")
    fwd = bench_scalar_forward(repeats)
    print(f"    autodiff_course  {fwd['dual_us_per_op']:6.2f} us/op ({CHAIN:,}-operation chain)")
    print(f"    pure-Python dual {fwd['plain_dual_us_per_op']:6.2f} us/op (calibration: ~0.5 when idle; "
          f"autodiff_course takes {fwd['dual_us_per_op'] / fwd['plain_dual_us_per_op']:.2f}x its time)")
    print(f"    pytorch fwd AD   {fwd['torch_forward_ad_us_per_op']:6.2f} us/op   "
          f"autodiff_course is {fwd['torch_forward_ad_us_per_op'] / fwd['dual_us_per_op']:.0f}x faster")

    steps = 200 if args.quick else 1000
    print(f"== engine: tensor MLP [3, 50, 50, 1], sigmoid, MSE, Adam, batch 100, {steps} steps (ms per step)")
    ten = bench_tensor_mlp(steps, repeats)
    print(f"    autodiff_course float64   {ten['ours_ms_per_step']:.3f} ms/step")
    print(f"    pytorch float32, 1 thread {ten['torch_f32_ms_per_step']:.3f} ms/step   "
          f"ratio {ten['ratio']:.2f}x PyTorch's time (target <= 0.7)")
    print(f"    numpy by hand float64     {ten['numpy_by_hand_ms_per_step']:.3f} ms/step   "
          f"({ten['numpy_by_hand_ms_per_step'] / ten['torch_f32_ms_per_step']:.2f}x PyTorch's time)")

    if args.json:
        args.json.write_text(json.dumps({"scalar_reverse": rev, "scalar_forward": fwd, "tensor_mlp": ten},
                                        indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
