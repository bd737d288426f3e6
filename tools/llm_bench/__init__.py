"""Load benchmark over the streaming client: a concurrency sweep, figures per level, reports."""
