"""The roofline bound (blueprint/reports/roofline.py) of each concurrency level of a bench run.

SageMaker spreads the requests over the endpoint's instances, so a level of `c` concurrent
requests on `n` instances keeps at most `min(n, c)` instances busy with `ceil(c / busy)` sequences
each (no more than the KV cache holds at the run's request length). Each sequence's context is at
least its prompt: the bound uses the prompt length, which keeps it a lower bound on time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from blueprint.reports.roofline import Roofline


@dataclass(frozen=True)
class LevelBound:
    itl_s: float  # no request's inter-token latency can be lower
    aggregate_tokens_per_s: float  # no endpoint-wide output rate can be higher


def level_bound(roof: Roofline, concurrency: int, instances: int, max_batch: int, prompt_tokens: int) -> LevelBound:
    busy = max(1, min(instances, concurrency))
    per_instance = max(1, min(math.ceil(concurrency / busy), max_batch))
    step = roof.step_seconds(per_instance, prompt_tokens)
    return LevelBound(itl_s=step, aggregate_tokens_per_s=busy * per_instance / step)
