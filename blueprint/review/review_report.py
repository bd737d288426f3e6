"""A Markdown review report of what a change does to the synthesized stacks.

Inputs are two cloud assemblies (the base revision's and the change's); nothing calls AWS.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from blueprint.config.facts import instance_facts
from blueprint.review.security import security_notes
from blueprint.review.template_changes import ResourceChange, compare, references
from blueprint.review.values import construct_path, value_changes
from blueprint.review.values import render as render_value

HOURS_PER_MONTH = 730
# Policy documents are shown statement by statement in tables, not as changed values.
POLICY_PROPERTIES = {"PolicyDocument", "AssumeRolePolicyDocument", "Policies"}
IAM_TYPES = {"AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role"}

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


def _cell(items: list[str]) -> str:
    """Table cell text: one item a line, pipes escaped."""
    return "<br>".join(f"`{i}`" for i in items).replace("|", "\\|") if items else ""


def _listed(value: object) -> list[str]:
    return [render_value(v) for v in value] if isinstance(value, list) else [] if value is None else [render_value(value)]


def statement_row(change: str, statement: dict) -> str:
    """One IAM statement as a table row: change, sid, effect, principal, actions, resources, conditions."""
    actions = _listed(statement.get("Action")) or [f"NOT {a}" for a in _listed(statement.get("NotAction"))]
    resources = _listed(statement.get("Resource")) or [f"NOT {r}" for r in _listed(statement.get("NotResource"))]
    principal = statement.get("Principal")
    if isinstance(principal, dict):
        principals = [f"{kind} {p}" for kind, value in sorted(principal.items()) for p in _listed(value)]
    else:
        principals = _listed(principal)
    conditions = [
        f"{operator} {key} = {', '.join(_listed(value))}"
        for operator, entries in sorted((statement.get("Condition") or {}).items())
        for key, value in sorted(entries.items())
    ]
    cells = [
        change,
        _cell(_listed(statement.get("Sid"))),
        str(statement.get("Effect", "")),
        _cell(principals),
        _cell(actions),
        _cell(resources),
        _cell(conditions),
    ]
    return "| " + " | ".join(cells) + " |"


def iam_tables(old: dict, new: dict, stack: str = "") -> list[str]:
    """Per IAM resource whose statements differ, a table of the statements added and removed."""
    old_iam, new_iam = iam_statements(old), iam_statements(new)
    lines: list[str] = []
    for logical_id in sorted(set(old_iam) | set(new_iam)):
        added = sorted(new_iam.get(logical_id, set()) - old_iam.get(logical_id, set()))
        removed = sorted(old_iam.get(logical_id, set()) - new_iam.get(logical_id, set()))
        if not added and not removed:
            continue
        template = new if logical_id in new.get("Resources", {}) else old
        kind = template["Resources"][logical_id]["Type"]
        lines += [
            f"IAM `{construct_path(template, logical_id, stack)}` ({kind}):",
            "",
            "| change | sid | effect | principal | actions | resources | conditions |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [statement_row("**added**", json.loads(s)) for s in added]
        lines += [statement_row("removed", json.loads(s)) for s in removed]
        lines.append("")
    return lines


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


@dataclass
class StackReview:
    """What a change does to one stack."""

    name: str
    old: dict
    new: dict
    changes: list[ResourceChange]
    security: list[str]

    def path(self, logical_id: str) -> str:
        return construct_path(self.new if logical_id in self.new.get("Resources", {}) else self.old, logical_id, self.name)


def _money(amount: float, unit: str, decimals: int) -> str:
    return f"~${amount:,.{decimals}f}/{unit}"


def _difference(amount: float, unit: str, decimals: int) -> str:
    return f"{'+' if amount >= 0 else '-'}${abs(amount):,.{decimals}f}/{unit}"


def price_line(before: float, after: float) -> str:
    """`before -> after (difference)` per hour and per month."""
    hourly = f"{_money(before, 'hour', 2)} -> {_money(after, 'hour', 2)} ({_difference(after - before, 'hour', 2)})"
    monthly = (
        f"{_money(before * HOURS_PER_MONTH, 'month', 0)} -> {_money(after * HOURS_PER_MONTH, 'month', 0)} "
        f"({_difference((after - before) * HOURS_PER_MONTH, 'month', 0)})"
    )
    return f"{hourly}; {monthly}"


def endpoint_outcomes(review: StackReview) -> list[str]:
    """How each endpoint of the stack is affected: replaced, a new fleet (blue/green), or updated in place."""
    found = []
    changes = {c.logical_id: c for c in review.changes}
    for change in review.changes:
        if change.type != "AWS::SageMaker::Endpoint":
            continue
        template = review.new if change.kind != "removed" else review.old
        name = template["Resources"][change.logical_id].get("Properties", {}).get("EndpointName")
        label = f"`{name}`" if isinstance(name, str) else f"`{review.path(change.logical_id)}`"
        if change.kind in {"added", "removed"}:
            found.append(f"endpoint {label} ({review.name}): {change.kind}")
        elif change.replaces:
            found.append(f"endpoint {label} ({review.name}): **replaced**, a new endpoint; clients of the old one fail until they switch")
        else:
            config = template["Resources"][change.logical_id].get("Properties", {}).get("EndpointConfigName")
            new_fleet = "EndpointConfigName" in change.changed_properties and any(
                changes.get(r) is not None and (changes[r].replaces or changes[r].kind == "added") for r in references(config)
            )
            found.append(
                f"endpoint {label} ({review.name}): updated in place, **blue/green** onto a new fleet (no downtime, both fleets billed during the switch)"
                if new_fleet
                else f"endpoint {label} ({review.name}): updated in place, same fleet"
            )
    return found


def summary(reviews: list[StackReview]) -> list[str]:
    changed = [r for r in reviews if r.changes or r.security]
    replaced = [f"`{r.path(c.logical_id)}` ({r.name})" for r in reviews for c in r.changes if c.replaces]
    lines = ["## Summary", ""]
    lines.append(f"- Stacks changed: {', '.join(r.name for r in changed) or 'none'} ({len(changed)} of {len(reviews)})")
    lines.append(f"- Resources replaced: {len(replaced)}" + (f": {', '.join(replaced)}" if replaced else ""))
    lines += [f"- {outcome[0].upper()}{outcome[1:]}" for r in reviews for outcome in endpoint_outcomes(r)]
    prices = [(hourly_price(r.old), hourly_price(r.new)) for r in reviews]
    if any(before != after for before, after in prices):
        if any(p is None for pair in prices for p in pair):
            lines.append("- Price: unknown (an instance type without a list price)")
        else:
            before, after = sum(b or 0 for b, _ in prices), sum(a or 0 for _, a in prices)
            lines.append(f"- Price of all stacks: {price_line(before, after)} (on-demand list prices)")
    security = sum(len(r.security) for r in reviews)
    if security:
        lines.append(f"- **Security-relevant changes: {security}** (in {', '.join(r.name for r in reviews if r.security)}, listed below)")
    return [*lines, ""]


def render(base: Assembly, head: Assembly, base_ref: str) -> str:
    lines = [f"# Infrastructure changes against `{base_ref}`", ""]
    blocked = rejected(base, head)
    for stack, reasons in blocked.items():
        lines += [f"**AWS would reject the update of {stack}**: {reason}" for reason in reasons] + [""]
    reviews = []
    for stack in sorted(set(base.templates) | set(head.templates)):
        old, new = base.templates.get(stack, {}), head.templates.get(stack, {})
        reviews.append(StackReview(stack, old, new, compare(old, new), security_notes(old, new, stack)))
    sections = []
    for review in reviews:
        sections += _stack_section(review, base.acknowledgments.get(review.name, {}), head.acknowledgments.get(review.name, {}))
    if not sections:
        lines.append("No changes to any stack.")
    else:
        lines += summary(reviews) + sections
    return "\n".join(lines) + "\n"


def _resource_values(review: StackReview, change: ResourceChange) -> list[str]:
    """Before -> after of every changed property of a modified resource."""
    before = review.old["Resources"][change.logical_id].get("Properties", {})
    after = review.new["Resources"][change.logical_id].get("Properties", {})
    properties = [p for p in change.changed_properties if change.type not in IAM_TYPES or p not in POLICY_PROPERTIES]
    values = value_changes(before, after, properties)
    lines = [f"- {v.line()}" for v in values]
    shown = {re.split(r"[.\[]", v.path)[0] for v in values}
    for prop in properties:
        if prop not in shown:
            readers = sorted(references(after.get(prop)))
            lines.append(
                f"- `{prop}`: same text, new value: it reads {', '.join(f'`{review.path(r)}`' for r in readers)}, which is replaced"
            )
    return lines


def _stack_section(review: StackReview, old_acks: dict, new_acks: dict) -> list[str]:
    lines: list[str] = []
    old, new, changes = review.old, review.new, review.changes
    status = " (new stack)" if not old else " (removed stack)" if not new else ""
    if review.security:
        lines += ["Security-relevant:", ""] + [f"- {note}" for note in review.security] + [""]
    if changes:
        lines += ["| resource | type | change | properties |", "|---|---|---|---|"]
        for c in changes:
            kind = "**replaced**" if c.replaces else c.kind
            props = ", ".join(c.changed_properties)
            lines.append(f"| `{review.path(c.logical_id)}` | {c.type} | {kind} | {props} |")
        lines.append("")
        for c in changes:
            if c.replaces:
                meaning = REPLACEMENT_MEANING.get(c.type, "CloudFormation creates a new resource, then deletes the old one")
                lines.append(f"- `{review.path(c.logical_id)}` is replaced ({', '.join(c.replaced_by)} cannot change in place): {meaning}.")
            if c.blocked_by_name:
                lines.append(
                    f"- **`{review.path(c.logical_id)}` cannot be replaced**: it sets `{c.blocked_by_name}`, and the new resource would need the same name."
                )
        for c in changes:
            if c.kind == "modified":
                values = _resource_values(review, c)
                if values:
                    lines += ["", f"`{review.path(c.logical_id)}` ({c.type}):", "", *values]
        lines.append("")
    before, after = hourly_price(old), hourly_price(new)
    if (before or after) and before != after:
        lines.append(f"- Price: {price_line(before or 0, after or 0)} (on-demand list prices)")
        lines.append("")
    lines += iam_tables(old, new, review.name)
    for rule in sorted(set(new_acks) - set(old_acks)):
        lines.append(f"- cdk-nag finding newly acknowledged: `{rule}`: {new_acks[rule]}")
    for rule in sorted(set(old_acks) - set(new_acks)):
        lines.append(f"- cdk-nag acknowledgment removed: `{rule}`")
    if not lines:
        return []
    lines = [line for i, line in enumerate(lines) if line or (i > 0 and lines[i - 1])]  # no double blank lines
    while lines and lines[-1] == "":
        lines.pop()
    return [f"## {review.name}{status}", "", *lines, ""]
