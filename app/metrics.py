"""What Kehai counts, kept cheap on the hot path (a dict increment), and exposed to Prometheus
by a collector that reads those dicts at scrape time (app/telemetry.py builds the registry).

Every family is declared with its help text and, where known, every label value, so a
counter reads 0 before its first event instead of appearing from nowhere."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

# 10 ms to 60 s: a healthy delivery takes tens of milliseconds, a backlog tens of seconds
# (the bench measured 21–37 s at 10,000 streams), and both must land in a bucket of their own.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                   45.0, 60.0)
LATENCY = "kehai_delivery_latency_seconds"

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Family:
    """A declared metric: its type, help, and the label sets it shows even at zero."""

    kind: str  # "counter" or "gauge"
    help: str
    label: str | None = None
    values: tuple[str, ...] = ()
    read: Callable[[], float] | None = None  # a value kept elsewhere, read at scrape time


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[tuple[str, Labels], float] = defaultdict(float)
        self.families: dict[str, Family] = {}
        self.buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0
        self.latency_count = 0

    # -- declaring ------------------------------------------------------------------------

    def counter(self, name: str, help: str, label: str | None = None,
                values: Iterable[str] = (), read: Callable[[], float] | None = None) -> None:
        self.families[name] = Family("counter", help, label, tuple(values), read)

    def gauge(self, name: str, read: Callable[[], float], help: str = "") -> None:
        known = self.families.get(name)
        self.families[name] = Family("gauge", help or (known.help if known else name), read=read)

    # -- counting (the hot path: no locks, no objects) ------------------------------------

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        self.counters[(name, tuple(sorted(labels.items())))] += amount

    def observe_latency(self, seconds: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
        self.latency_count += 1

    # -- reading --------------------------------------------------------------------------

    def collector(self) -> Collector:
        return _Collector(self)

    def _counted(self) -> dict[str, dict[Labels, float]]:
        by_name: dict[str, dict[Labels, float]] = defaultdict(dict)
        for (name, labels), value in self.counters.copy().items():
            by_name[name][labels] = value
        return by_name

    def families_now(self) -> Iterator[Metric]:
        counted = self._counted()
        for name in sorted(set(self.families) | set(counted)):
            family = self.families.get(name) or Family("counter", f"{name} (undeclared)")
            yield _family(name, family, counted.get(name, {}))
        yield self._histogram()

    def _histogram(self) -> Metric:
        cumulative, total = [], 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.buckets, strict=True):
            total += count
            cumulative.append(("+Inf" if bound == float("inf") else str(bound), total))
        return HistogramMetricFamily(
            LATENCY, "Seconds from publishing an event to writing it to a stream.",
            buckets=cumulative, sum_value=self.latency_sum)


def _family(name: str, family: Family, counted: dict[Labels, float]) -> Metric:
    labels = [family.label] if family.label else []
    if family.kind == "gauge":
        metric: Metric = GaugeMetricFamily(name, family.help, labels=labels)
    else:
        metric = CounterMetricFamily(name, family.help, labels=labels)
    if family.read is not None:
        metric.add_metric([], float(family.read()))
        return metric
    values = {((family.label, v),): 0.0 for v in family.values} if family.label else {(): 0.0}
    values.update(counted)
    for label_set, value in sorted(values.items()):
        metric.add_metric([v for _, v in label_set], value)
    return metric


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return list(self.metrics.families_now())
