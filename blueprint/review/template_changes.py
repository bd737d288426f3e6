"""Which resources a template change adds, removes, modifies and replaces.

A change to a property that CloudFormation cannot update in place (a `createOnlyProperties` entry
of the resource type's registry schema, as cfn-lint ships them) replaces the resource, and a
replaced resource changes the `Ref`/`Fn::GetAtt` values that other resources read: those are
modified too, and replaced when they read them in a create-only property.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field


@dataclass
class ResourceChange:
    logical_id: str
    type: str
    kind: str  # added, removed, modified
    changed_properties: list[str] = field(default_factory=list)
    replaced_by: list[str] = field(default_factory=list)  # create-only properties that changed
    # A replacement CloudFormation cannot make: a create-only physical name is set and unchanged.
    blocked_by_name: str | None = None

    @property
    def replaces(self) -> bool:
        return bool(self.replaced_by)


@functools.cache
def create_only_properties(resource_type: str, region: str = "us-east-1") -> frozenset[str]:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # noqa: BLE001 - unknown or custom types: assume in-place updates
        return frozenset()
    return frozenset(p.split("/")[2] for p in schema.get("createOnlyProperties", []) if p.startswith("/properties/"))


# Physical-name properties: set, they make a replacement fail ("already exists").
NAME_PROPERTIES = {"AWS::SageMaker::Model": "ModelName", "AWS::SageMaker::EndpointConfig": "EndpointConfigName"}


def compare(old: dict, new: dict) -> list[ResourceChange]:
    """Changes from template `old` to template `new` (each a synthesized template dict)."""
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    changes: dict[str, ResourceChange] = {}
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        if before is None:
            changes[logical_id] = ResourceChange(logical_id, after["Type"], "added")
        elif after is None:
            changes[logical_id] = ResourceChange(logical_id, before["Type"], "removed")
        else:
            props_before, props_after = before.get("Properties", {}), after.get("Properties", {})
            changed = sorted(k for k in set(props_before) | set(props_after) if props_before.get(k) != props_after.get(k))
            if changed or before.get("Type") != after.get("Type"):
                change = ResourceChange(logical_id, after["Type"], "modified", changed)
                change.replaced_by = sorted(set(changed) & create_only_properties(after["Type"]))
                changes[logical_id] = change
    _propagate_replacements(new_resources, changes)
    for change in changes.values():
        name = NAME_PROPERTIES.get(change.type)
        if change.replaces and name and name in new_resources[change.logical_id].get("Properties", {}) and name not in change.replaced_by:
            change.blocked_by_name = name
    return list(changes.values())


def _propagate_replacements(resources: dict, changes: dict[str, ResourceChange]) -> None:
    """A replaced resource gets a new physical id: readers of it change, and may be replaced."""
    replaced = {c.logical_id for c in changes.values() if c.replaces or c.kind == "added"}
    frontier = set(replaced)
    while frontier:
        newly: set[str] = set()
        for logical_id, resource in resources.items():
            create_only = create_only_properties(resource["Type"])
            for prop, value in resource.get("Properties", {}).items():
                if not references(value) & frontier:
                    continue
                change = changes.setdefault(logical_id, ResourceChange(logical_id, resource["Type"], "modified"))
                if change.kind != "modified":
                    continue
                if prop not in change.changed_properties:
                    change.changed_properties.append(prop)
                if prop in create_only and prop not in change.replaced_by:
                    change.replaced_by.append(prop)
                    if logical_id not in replaced:
                        replaced.add(logical_id)
                        newly.add(logical_id)
        frontier = newly


def references(value: object) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        for inner in value.values():
            found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found
