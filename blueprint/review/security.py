"""Security-relevant differences between two templates, in words.

Network isolation of a model, secrets in a container's environment, encryption keys, a model's
VPC, security group ingress and S3 public access blocks.
"""

from __future__ import annotations

from blueprint.review.values import DYNAMIC_REFERENCE, SECRET_KEY, construct_path, render

PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
KMS_PROPERTIES = ("KmsKeyId", "KmsMasterKeyId", "VolumeKmsKeyId")


def _containers(props: dict) -> list[dict]:
    found = [props["PrimaryContainer"]] if isinstance(props.get("PrimaryContainer"), dict) else []
    return found + [c for c in props.get("Containers", []) if isinstance(c, dict)]


def secret_environment(props: dict) -> dict[str, str]:
    """Environment entries of a model's containers that carry a secret, name -> rendered value."""
    found = {}
    for container in _containers(props):
        environment = container.get("Environment", {})
        if not isinstance(environment, dict):
            continue
        for name, value in environment.items():
            if (isinstance(value, str) and DYNAMIC_REFERENCE.match(value)) or SECRET_KEY.search(name):
                found[name] = render(value, name)
    return found


def _ingress_text(rule: dict) -> str:
    source = rule.get("CidrIp") or rule.get("CidrIpv6") or rule.get("SourceSecurityGroupId") or rule.get("SourcePrefixListId")
    protocol = str(rule.get("IpProtocol", "?"))
    ports = rule.get("FromPort"), rule.get("ToPort")
    port_text = (
        "all ports"
        if protocol == "-1" or ports == (None, None)
        else f"port {ports[0]}"
        if ports[0] == ports[1]
        else f"ports {ports[0]}-{ports[1]}"
    )
    text = f"{'all protocols' if protocol == '-1' else protocol} {port_text} from {render(source) if source is not None else '?'}"
    return text + (" (**the whole internet**)" if source in ("0.0.0.0/0", "::/0") else "")


def security_notes(old: dict, new: dict, stack: str = "") -> list[str]:
    """What a change does to the stack's security posture, one sentence a change, in logical-id order."""
    old_resources, new_resources = old.get("Resources", {}), new.get("Resources", {})
    notes: list[str] = []
    for logical_id in sorted(set(old_resources) | set(new_resources)):
        before, after = old_resources.get(logical_id), new_resources.get(logical_id)
        name = f"`{construct_path(new if after else old, logical_id, stack)}`"
        if (
            after
            and after["Type"] == "AWS::EC2::SecurityGroupIngress"
            and (before is None or before.get("Properties") != after.get("Properties"))
        ):
            notes.append(f"**New ingress rule** {name}: {_ingress_text(after.get('Properties', {}))}.")
        if before is None or after is None:
            continue
        kind = after["Type"]
        was, now = before.get("Properties", {}), after.get("Properties", {})
        if kind == "AWS::SageMaker::Model":
            if bool(was.get("EnableNetworkIsolation")) != bool(now.get("EnableNetworkIsolation")):
                notes.append(
                    f"Network isolation turns **on** for model {name}: the container gets no network access (weights come from S3)."
                    if now.get("EnableNetworkIsolation")
                    else f"Network isolation turns **off** for model {name}: the container can reach the internet."
                )
            old_secrets, new_secrets = secret_environment(was), secret_environment(now)
            for key in sorted(set(old_secrets) - set(new_secrets)):
                notes.append(f"Secret `{key}` leaves the environment of model {name} (was `{old_secrets[key]}`).")
            for key in sorted(set(new_secrets) - set(old_secrets)):
                notes.append(f"Secret `{key}` **enters** the environment of model {name} (`{new_secrets[key]}`).")
            for key in sorted(set(old_secrets) & set(new_secrets)):
                if old_secrets[key] != new_secrets[key]:
                    notes.append(f"Secret `{key}` of model {name} changes: `{old_secrets[key]}` -> `{new_secrets[key]}`.")
            if ("VpcConfig" in was) != ("VpcConfig" in now):
                notes.append(
                    f"Model {name} moves **into a VPC** (VpcConfig added)."
                    if "VpcConfig" in now
                    else f"Model {name} **leaves its VPC** (VpcConfig removed): its traffic no longer goes through the VPC's subnets and security groups."
                )
        for prop in KMS_PROPERTIES:
            if prop in was and prop not in now:
                notes.append(f"Encryption key removed from {name} (`{prop}` was `{render(was[prop])}`): AWS-managed encryption instead.")
            elif prop in now and prop not in was:
                notes.append(f"Encryption key added to {name}: `{prop}` = `{render(now[prop])}`.")
            elif prop in now and was[prop] != now[prop]:
                notes.append(f"Encryption key of {name} changes: `{prop}` `{render(was[prop])}` -> `{render(now[prop])}`.")
        if kind == "AWS::EC2::SecurityGroup":
            old_rules = [render(r) for r in was.get("SecurityGroupIngress", [])]
            for rule in now.get("SecurityGroupIngress", []):
                if render(rule) not in old_rules:
                    notes.append(f"**New ingress rule** on security group {name}: {_ingress_text(rule)}.")
        if kind == "AWS::S3::Bucket":
            old_block, new_block = was.get("PublicAccessBlockConfiguration") or {}, now.get("PublicAccessBlockConfiguration") or {}
            for flag in PUBLIC_ACCESS_FLAGS:
                if bool(old_block.get(flag)) and not new_block.get(flag):
                    notes.append(f"**Public access**: bucket {name} no longer sets `{flag}`.")
                elif new_block.get(flag) and not old_block.get(flag):
                    notes.append(f"Bucket {name} now sets `{flag}` (less public access).")
    return notes
