#!/usr/bin/env python3
"""CDK app: model bucket stack plus one endpoint stack per enabled serving variant."""

import sys

import aws_cdk as cdk

from blueprint.config.errors import ConfigError
from blueprint.loader import load_config
from blueprint.reports.synth_summary import render_summary
from stacks.composition import compose
from stacks.nag import add_checks
from stacks.optional_pipeline import add_pipeline

app = cdk.App()
try:
    config = load_config(app.node.get_all_context())
except ConfigError as error:
    sys.exit(str(error))
compose(app, config)  # the workstation path: `npx cdk deploy` these stacks directly
add_pipeline(app, config)  # when configured: promotion through accounts (docs/pipeline.md)
add_checks(app)
print(render_summary(config), file=sys.stderr)
app.synth()
