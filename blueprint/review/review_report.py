"""A Markdown review report of what a change does to the synthesized stacks.

Inputs are two cloud assemblies (the base revision's and the change's); nothing calls AWS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from blueprint.config.facts import instance_facts
from blueprint.review.template_changes import ResourceChange, compare

HOURS_PER_MONTH = 730

# What replacing a resource of these types means for this project.
REPLACEMENT_MEANING = {
    "AWS::SageMaker::EndpointConfig": "new endpoint config: the endpoint provisions a new fleet (blue/green), about 15-30 minutes "
    "to download and load a 13B model, both fleets billed during the switch",
    "AWS::SageMaker::Model": "new model: a new endpoint config follows, so new instances too",
    "AWS::SageMaker::Endpoint": "a NEW ENDPOINT replaces the old one: clients calling the old name fail until they switch",
    "AWS::S3::Bucket": "a NEW BUCKET: staged weights stay in the old, retained one",
    "AWS::IAM::Role": "new execution role: the model and its endpoint config are replaced with it",
}


@dataclass
class Assembly:
    """The templates and acknowledged nag findings of one cloud assembly directory."""

    templates: dict[str, dict] = field(default_factory=dict)
    acknowledgments: dict[str, dict[str, str]] = field(default_factory=dict)  # stack -> rule -> reason

    @classmethod
    def read(cls, directory: Path) -> Assembly:
        """Every stack of the assembly, including those of nested ones (a pipeline's stages).

        Stacks are named by their CloudFormation stack name (e.g. Prod-LlmEndpointTgi).
        """
        manifest = json.loads((directory / "manifest.json").read_text())
        assembly = cls()
        for artifact_id, artifact in manifest.get("artifacts", {}).items():
            if artifact.get("type") == "cdk:cloud-assembly":
                nested = cls.read(directory / artifact["properties"]["directoryName"])
                assembly.templates |= nested.templates
                assembly.acknowledgments |= nested.acknowledgments
                continue
            if artifact.get("type") != "aws:cloudformation:stack":
                continue
            name = artifact["properties"].get("stackName") or artifact_id
            template_file = artifact["properties"]["templateFile"]
            assembly.templates[name] = json.loads((directory / template_file).read_text())
            metadata_file = directory / f"{artifact_id}.metadata.json"
            entries = json.loads(metadata_file.read_text()) if metadata_file.exists() else artifact.get("metadata", {})
            rules: dict[str, str] = {}
            for path, items in entries.items():
                for item in items:
                    if item.get("type") == "aws:cdk:acknowledged-rules":
                        for rule, reason in item["data"].items():
                            rules[f"{rule.removeprefix('Annotation::')} on {path}"] = reason
            assembly.acknowledgments[name] = rules
        return assembly


def hourly_price(template: dict) -> float | None:
    """On-demand price per hour of the endpoint configs in a template (None if unknown types)."""
    total = 0.0
    for resource in template.get("Resources", {}).values():
        if resource["Type"] != "AWS::SageMaker::EndpointConfig":
            continue
        for variant in resource["Properties"].get("ProductionVariants", []):
            facts = instance_facts(variant.get("InstanceType", ""))
            if facts is None:
                return None
            total += facts.price_per_hour * variant.get("InitialInstanceCount", 1)
    return total


def iam_statements(template: dict) -> dict[str, set[str]]:
    """Policy statements (as canonical JSON) per IAM resource."""
    found: dict[str, set[str]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"}:
            documents.append(props.get("PolicyDocument", {}))
        if resource["Type"] == "AWS::IAM::Role":
            documents.append(props.get("AssumeRolePolicyDocument", {}))
            documents += [p.get("PolicyDocument", {}) for p in props.get("Policies", [])]
        statements = {json.dumps(s, sort_keys=True) for d in documents for s in d.get("Statement", [])}
        if statements:
            found[logical_id] = statements
    return found


def _variant_instance_types(template: dict) -> dict[tuple[str, str], str]:
    """(endpoint name, variant name) -> instance type, for endpoints whose name the template sets."""
    resources = template.get("Resources", {})
    found = {}
    for resource in resources.values():
        if resource["Type"] != "AWS::SageMaker::Endpoint":
            continue
        name = resource["Properties"].get("EndpointName")
        config_ref = resource["Properties"].get("EndpointConfigName", {}).get("Fn::GetAtt", [None])[0]
        config = resources.get(config_ref, {}).get("Properties", {})
        if isinstance(name, str):
            for variant in config.get("ProductionVariants", []):
                found[(name, variant.get("VariantName"))] = variant.get("InstanceType")
    return found


def _scaled_variants(template: dict) -> set[tuple[str, str]]:
    """(endpoint name, variant name) of every variant registered with Application Auto Scaling."""
    scaled = set()
    for resource in template.get("Resources", {}).values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget" and props.get("ScalableDimension") == (
            "sagemaker:variant:DesiredInstanceCount"
        ):
            _, endpoint, _, variant = str(props.get("ResourceId")).split("/", 3)
            scaled.add((endpoint, variant))
    return scaled


def rejected_updates(old: dict, new: dict) -> list[str]:
    """Updates of this stack that AWS rejects, each with the way through.

    SageMaker fails an update that changes the instance type of a variant registered as a
    scalable target (docs/aws-contract.md, "Autoscaling and updates"); the registration lasts until
    the stack's clean-up phase, after the endpoint update, even when the change removes it. A
    blue/green update also needs the new config to keep the variant's name.
    """
    serving = new.get("Outputs", {}).get("ServingVariant", {}).get("Value") or "<variant>"
    before, after = _variant_instance_types(old), _variant_instance_types(new)
    found = []
    for endpoint in sorted({e for e, _ in before} & {e for e, _ in after}):
        old_names = sorted(v for e, v in before if e == endpoint)
        new_names = sorted(v for e, v in after if e == endpoint)
        if old_names != new_names:
            found.append(
                f"endpoint `{endpoint}` renames its variant {', '.join(old_names)} -> {', '.join(new_names)}: a blue/green update "
                f"needs the same variant name in the new config. Keep `variants.{serving}.variant_name`, or deploy the new name under "
                f"a new `variants.{serving}.endpoint_name` and retire the old endpoint."
            )
    for key in sorted(_scaled_variants(old) & set(before) & set(after)):
        if before[key] != after[key]:
            endpoint, variant = key
            found.append(
                f"endpoint `{endpoint}` variant `{variant}` changes instance type {before[key]} -> {after[key]} while it is "
                f"registered with Application Auto Scaling: SageMaker rejects the update. Deploy in two steps: first with "
                f"`variants.{serving}.autoscaling.enabled=false` (removes the scalable target), then the new instance type with autoscaling on."
            )
    return found


def rejected(base: Assembly, head: Assembly) -> dict[str, list[str]]:
    """Per stack, the updates AWS would reject (empty when none)."""
    found = {}
    for stack in sorted(set(base.templates) & set(head.templates)):
        reasons = rejected_updates(base.templates[stack], head.templates[stack])
        if reasons:
            found[stack] = reasons
    return found


def render(base: Assembly, head: Assembly, base_ref: str) -> str:
    lines = [f"# Infrastructure changes against `{base_ref}`", ""]
    blocked = rejected(base, head)
    for stack, reasons in blocked.items():
        lines += [f"**AWS would reject the update of {stack}**: {reason}" for reason in reasons] + [""]
    any_change = False
    for stack in sorted(set(base.templates) | set(head.templates)):
        old, new = base.templates.get(stack, {}), head.templates.get(stack, {})
        changes = compare(old, new)
        section = _stack_section(stack, old, new, changes, base.acknowledgments.get(stack, {}), head.acknowledgments.get(stack, {}))
        if section:
            any_change = True
            lines += section
    if not any_change:
        lines.append("No changes to any stack.")
    return "\n".join(lines) + "\n"


def _stack_section(stack: str, old: dict, new: dict, changes: list[ResourceChange], old_acks: dict, new_acks: dict) -> list[str]:
    lines: list[str] = []
    status = " (new stack)" if not old else " (removed stack)" if not new else ""
    if changes:
        lines += ["| resource | type | change | properties |", "|---|---|---|---|"]
        for c in changes:
            kind = "**replaced**" if c.replaces else c.kind
            props = ", ".join(c.changed_properties)
            lines.append(f"| `{c.logical_id}` | {c.type} | {kind} | {props} |")
        lines.append("")
        for c in changes:
            if c.replaces:
                meaning = REPLACEMENT_MEANING.get(c.type, "CloudFormation creates a new resource, then deletes the old one")
                lines.append(f"- `{c.logical_id}` is replaced ({', '.join(c.replaced_by)} cannot change in place): {meaning}.")
            if c.blocked_by_name:
                lines.append(
                    f"- **`{c.logical_id}` cannot be replaced**: it sets `{c.blocked_by_name}`, and the new resource would need the same name."
                )
    before, after = hourly_price(old), hourly_price(new)
    if (before or after) and before != after:
        lines.append(
            f"- Price: ~${before or 0:,.2f}/hour -> ~${after or 0:,.2f}/hour (~${(before or 0) * HOURS_PER_MONTH:,.0f} -> ~${(after or 0) * HOURS_PER_MONTH:,.0f}/month, on-demand list prices)"
        )
    old_iam, new_iam = iam_statements(old), iam_statements(new)
    for logical_id in sorted(set(old_iam) | set(new_iam)):
        added = new_iam.get(logical_id, set()) - old_iam.get(logical_id, set())
        removed = old_iam.get(logical_id, set()) - new_iam.get(logical_id, set())
        for statement in sorted(added):
            lines.append(f"- IAM `{logical_id}` **adds** `{statement}`")
        for statement in sorted(removed):
            lines.append(f"- IAM `{logical_id}` removes `{statement}`")
    for rule in sorted(set(new_acks) - set(old_acks)):
        lines.append(f"- cdk-nag finding newly acknowledged: `{rule}`: {new_acks[rule]}")
    for rule in sorted(set(old_acks) - set(new_acks)):
        lines.append(f"- cdk-nag acknowledgment removed: `{rule}`")
    if not lines:
        return []
    return [f"## {stack}{status}", "", *lines, ""]
