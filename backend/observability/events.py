"""Counting what happens, in one line where it happens: `count("reminders", "sent")`.

The counters themselves live in backend/observability/metrics.py, imported on the first count rather than with the
modules that count (see backend/observability/__init__.py for why prometheus_client is imported late).
"""


def count(counter: str, *labels: str, amount: float = 1) -> None:
    """Add `amount` to a product counter of backend.observability.metrics.COUNTERS, with its label values."""
    if amount:
        from backend.observability.metrics import COUNTERS

        metric = COUNTERS[counter]
        (metric.labels(*labels) if labels else metric).inc(amount)
