"""The one error a backend raises when it cannot run a model's dtype on this hardware."""

from __future__ import annotations


class BackendUnsupported(RuntimeError):
    """The backend itself refused (missing kernel or op); the message is the backend's own text.

    Benchmarks record this as status "unsupported" instead of failing: it is a property of the
    backend and machine, not a bug in the workflow.
    """
