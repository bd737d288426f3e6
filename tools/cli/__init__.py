"""Console scripts of the tools (declared in pyproject.toml): thin CLIs over the tool packages."""
