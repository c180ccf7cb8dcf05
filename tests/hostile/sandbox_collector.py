"""A tiny collector for the sandbox tests, loaded by the grading workers through `python_path`.

Stands in for `autodiff_course.checks.collect` (the sandbox must not depend on the checkers): kind "variables"
snapshots named variables, kind "call" calls the student's function. Returns JSON-safe data only.
"""


def _snapshot(value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        snap = {"type": type(value).__name__, "values": tolist(), "shape": list(getattr(value, "shape", []))}
        if hasattr(value, "requires_grad"):
            snap["requires_grad"] = bool(value.requires_grad)
        return snap
    return {"type": type(value).__name__, "repr": repr(value)[:200]}


def collect(spec, namespace):
    if spec["kind"] == "variables":
        return {"variables": {name: _snapshot(namespace[name]) if name in namespace else {"missing": True}
                              for name in spec["variables"]}}
    if spec["kind"] == "call":
        fn = namespace.get(spec["function"])
        if fn is None:
            return {"error": f"{spec['function']} is not defined"}
        try:
            return {"returned": _snapshot(fn(*spec["args"]))}
        except Exception as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
    raise ValueError(f"unknown kind {spec['kind']!r}")
