"""A student's function as a graph of named intermediate variables: ``trace`` records it, ``Graph`` holds it,
``data`` is its plain-data form. Reads the engine; knows nothing of checkers or widgets."""

from .graph import Graph, GraphNode
from .tracing import trace

__all__ = ["Graph", "GraphNode", "trace"]
