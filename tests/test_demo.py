"""llm-demo: the README's offline section, end to end against the loopback AWS."""

from __future__ import annotations

import json

import pytest

from tools.cli import demo
from tools.loopback.samples import TEXT

# Slow end to end (servers on 127.0.0.1, a bench sweep): `pytest -m e2e` runs them alone.
pytestmark = pytest.mark.e2e


def test_the_demo_streams_every_format_then_benches(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someone-elses-profile")  # the demo ignores the user's AWS settings
    code = demo.main(["--output-dir", str(tmp_path / "out")])
    out, err = capsys.readouterr()
    assert code == 0, err
    # One answer per endpoint, each the whole text, whatever its format.
    assert out.count(TEXT + "\n") == len(demo.ENDPOINTS)
    for engine in ("(tgi)", "(lmi)", "(vllm)", "(sglang)"):
        assert "streaming from demo-" in err and engine in err
    # Each deployment found through its stack's outputs (LlmEndpointQwenVllm for qwen-vllm), engine included.
    for deployment in ("tgi", "lmi", "qwen-vllm", "qwen-sglang"):
        assert f"$ llm-smoke-test --variant {deployment}\n" in err
    assert "$ llm-smoke-test --endpoint-name demo-lmi-jsonlines\n" in err
    assert "$ llm-bench --endpoint-name demo-bench --variant tgi --engine tgi " in err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [level["concurrency"] for level in results["levels"]] == [1, 4, 8]
    assert all(level["errors"] == 0 for level in results["levels"])
    assert (tmp_path / "out" / "latency_throughput.png").stat().st_size > 10_000
    assert err.rstrip().endswith(f"open {tmp_path / 'out' / 'latency_throughput.png'} for the plot; against AWS: docs/deployment.md")
