"""The suite's own arrangement: what scripts/test.sh relies on to run in parallel without waste."""

from __future__ import annotations

from tests.conftest import SESSION_APP_MODULES, SESSION_APPS


def test_the_modules_that_use_the_session_apps_are_the_ones_that_share_a_worker(request):
    # A module missing from the list would build the session's apps again on the other worker.
    using = {item.nodeid.split("::", 1)[0] for item in request.session.items if SESSION_APPS & set(item.fixturenames)}
    assert using <= SESSION_APP_MODULES, f"add {sorted(using - SESSION_APP_MODULES)} to SESSION_APP_MODULES in tests/conftest.py"


def test_slow_end_to_end_tests_run_first(request):
    items = request.session.items
    e2e = [i for i, item in enumerate(items) if item.get_closest_marker("e2e")]
    assert e2e == list(range(len(e2e)))
