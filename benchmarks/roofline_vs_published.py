"""How close published measurements come to the roofline bounds (blueprint/reports/roofline.py).

Usage: .venv/bin/python -m benchmarks.roofline_vs_published

Reads benchmarks/published_measurements.json (model, instance, engine, concurrency, the measured
figure, the source) and prints, per measurement, the bound for the same model, GPUs, concurrency
and prompt length, and measured / bound: 1.0 would be an engine at the hardware's limit. A
measurement faster than its bound means the model or a fact is wrong (tests/test_roofline.py
fails then).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from blueprint.config.facts import ModelFacts, known_instance
from blueprint.reports.roofline import Roofline, gpu_model

DATA = Path(__file__).resolve().parent / "published_measurements.json"


@dataclass(frozen=True)
class Comparison:
    row: dict
    bound: float  # in the measurement's unit
    closeness: float  # how much of the bound the measurement reaches (<= 1)


def model_of(row: dict, models: dict) -> ModelFacts:
    facts = models[row["model"]]
    return ModelFacts(id=row["model"], gated=False, dtype_bytes=2, **facts)


def compare(row: dict, models: dict) -> Comparison:
    instance = known_instance(row["instance_type"])
    gpu = gpu_model(instance.gpu_model)
    assert gpu is not None, row
    roof = Roofline(model_of(row, models), gpu, row.get("gpus", instance.gpus))
    batch = row["concurrency"]
    # The shortest context a decode step of these requests has: the prompt (a lower bound on time).
    step = roof.step_seconds(batch, row.get("input_tokens", 0))
    if row["metric"] == "ms_per_token":  # each request's inter-token latency: at least one step
        bound = step * 1e3
        return Comparison(row, bound, bound / row["value"])
    if row["metric"] == "tokens_per_second_per_request":
        bound = 1 / step
        return Comparison(row, bound, row["value"] / bound)
    assert row["metric"] == "tokens_per_second_total", row
    bound = batch / step
    return Comparison(row, bound, row["value"] / bound)


def comparisons() -> list[Comparison]:
    data = json.loads(DATA.read_text())
    return [compare(row, data["models"]) for row in data["measurements"]]


def main() -> None:
    print(f"{'model':<22} {'instance':<16} {'engine':<16} {'conc':>4}  {'metric':<30} {'measured':>9} {'bound':>9} {'reached':>7}")
    for c in comparisons():
        r = c.row
        print(
            f"{r['model'].split('/')[-1]:<22} {r['instance_type']:<16} {r['engine']:<16} {r['concurrency']:>4}  {r['metric']:<30} "
            f"{r['value']:>9,.1f} {c.bound:>9,.1f} {c.closeness:>6.0%}"
        )


if __name__ == "__main__":
    main()
