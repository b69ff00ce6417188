"""Timing pages for the benchmark scripts: the median of a few GETs, failing loudly."""

from __future__ import annotations

import statistics
import time
from typing import Any


def median_ms(client: Any, url: str, *, repeat: int = 5, warm_up: bool = False) -> float:
    """Median milliseconds of ``repeat`` GETs of ``url`` (after one unmeasured GET if
    ``warm_up``); exits when a page does not answer 200."""
    if warm_up:
        client.get(url)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    return statistics.median(samples)
