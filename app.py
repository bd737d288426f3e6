#!/usr/bin/env python3
"""CDK app: model bucket stack plus one endpoint stack per enabled serving variant."""

import sys

import aws_cdk as cdk

from blueprint.config.errors import ConfigError
from blueprint.loader import load_config

app = cdk.App()
try:
    config = load_config(app.node.get_all_context())
except ConfigError as error:
    sys.exit(str(error))

# The constructs load only for settings that passed: a config error costs no CDK module import.
from blueprint.reports.synth_summary import render_summary  # noqa: E402
from stacks.composition import compose  # noqa: E402
from stacks.nag import add_checks  # noqa: E402
from stacks.optional_pipeline import add_pipeline  # noqa: E402

compose(app, config)  # the workstation path: `npx cdk deploy` these stacks directly
add_pipeline(app, config)  # when configured: promotion through accounts (docs/pipeline.md)
add_checks(app)
print(render_summary(config), file=sys.stderr)
app.synth()
