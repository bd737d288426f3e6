"""Placeholder replaced below."""
def render_summary(config):
    return "summary"
