"""What to deploy, decided without the CDK: typed settings and their validation, the serving
containers (engines), the image registry table, the GPU sizing and synth summary, and the logic of
the pull-request review report. Imports no `aws_cdk` (an import-linter contract checks it)."""
