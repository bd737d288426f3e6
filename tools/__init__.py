"""Operator tools beside the app: weight staging to S3, the load benchmark, the review report's
command and the image table generator. They may use the blueprint and the streaming client."""
