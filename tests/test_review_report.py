"""The review report's values, summary, IAM tables and security call-outs, from small templates and snapshots (no synth)."""

from __future__ import annotations

import copy
import json

import pytest

from blueprint.review.review_report import Assembly, iam_tables, price_line, render, statement_row
from blueprint.review.security import security_notes
from blueprint.review.values import ValueChange, construct_path, flatten, mask, shorten_pair, value_changes
from blueprint.review.values import render as render_value
from tests.conftest import ROOT

SNAPSHOTS = ROOT / "tests" / "snapshots"
# Obvious fakes in the shape of a hub token and an AWS access key id (built, so no token-shaped
# literal sits in the source).
FAKE_HUB_TOKEN = "hf_" + "FAKE" * 5
FAKE_ACCESS_KEY = "AKIA" + "FAKE" * 4
CONFIG, MODEL, POLICY = "LlmEndpointEndpointConfig1EF08A33", "LlmEndpointModelDBBA0AB4", "LlmEndpointExecutionRolePolicy9D6F1522"
PARTITION_JOIN = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::bucket-", {"Ref": "AWS::AccountId"}, "/*"]]}


def snapshot(profile: str) -> dict:
    return json.loads((SNAPSHOTS / profile / "tgi.template.json").read_text())


def report(old: dict, new: dict, stack: str = "LlmEndpointTgi") -> list[str]:
    return render(Assembly({stack: old}), Assembly({stack: new}), "main").splitlines()


def section(lines: list[str], title: str) -> list[str]:
    start = lines.index(title) + 2
    end = lines.index("", start)
    return lines[start:end]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"Ref": "Bucket"}, "Ref(Bucket)"),
        ({"Fn::GetAtt": ["Role", "Arn"]}, "Role.Arn"),
        ({"Fn::GetAtt": "Stack.Outputs.Name"}, "Stack.Outputs.Name"),
        (PARTITION_JOIN, "arn:${AWS::Partition}:s3:::bucket-${AWS::AccountId}/*"),
        ({"Fn::Join": [",", ["a", {"Fn::GetAtt": ["Topic", "TopicName"]}]]}, "a,${Topic.TopicName}"),
        ({"Fn::Join": ["", ["x-", {"Fn::Join": ["-", ["a", {"Ref": "B"}]]}]]}, "x-a-${B}"),
        ({"Fn::FindInMap": ["Images", {"Ref": "AWS::Region"}, "uri"]}, "FindInMap(Images, Ref(AWS::Region), uri)"),
        ({"Fn::Sub": ["${A}-x", {"A": "1"}]}, "${A}-x"),
        ({"Fn::Sub": "arn:${AWS::Partition}:x"}, "arn:${AWS::Partition}:x"),
        ({"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}, "If(IsProd, 2, Ref(AWS::NoValue))"),
        (True, "true"),
        (None, "null"),
        (3, "3"),
        (["a", {"Ref": "B"}], "[a, Ref(B)]"),
        ({"Key": "k", "Value": {"Ref": "V"}}, "{Key: k, Value: Ref(V)}"),
    ],
)
def test_intrinsics_and_values_render_readably(value, text):
    assert render_value(value) == text


def test_secrets_are_masked_but_dynamic_references_stay():
    reference = "{{resolve:secretsmanager:llm-endpoints/huggingface-hub-token:SecretString:::}}"
    assert mask(reference, "HUGGING_FACE_HUB_TOKEN") == reference
    assert mask(FAKE_HUB_TOKEN) == "<redacted>"
    assert mask(f"token={FAKE_HUB_TOKEN};x") == "token=<redacted>;x"
    assert mask(FAKE_ACCESS_KEY) == "<redacted>"
    assert mask("plain-value", "HF_TOKEN") == "<redacted>"  # a literal under a secret's name
    assert mask("4096", "MAX_TOTAL_TOKENS") == "4096"  # not a secret's name
    assert mask("hf_short") == "hf_short"
    assert render_value({"Fn::Join": ["", ["Bearer ", FAKE_HUB_TOKEN]]}) == "Bearer <redacted>"


def test_nested_properties_flatten_to_dotted_paths():
    value = {"Variants": [{"Type": "a", "Tags": []}], "Env": {"K": {"Ref": "X"}}, "Empty": {}}
    assert flatten(value, "P") == {"P.Variants[0].Type": "a", "P.Variants[0].Tags": [], "P.Env.K": {"Ref": "X"}, "P.Empty": {}}


def test_value_changes_cover_changed_added_and_removed_leaves_in_index_order():
    before = {"L": [str(i) for i in range(11)], "Same": 1, "Gone": {"A": 1}}
    after = {"L": [*[str(i) for i in range(10)], "ten", "eleven"], "Same": 1, "New": True}
    changes = value_changes(before, after, ["Gone", "L", "New"])
    assert [c.line() for c in changes] == [
        "`Gone.A`: `1` -> (unset)",
        "`L[10]`: `10` -> `ten`",
        "`L[11]`: (unset) -> `eleven`",
        "`New`: (unset) -> `true`",
    ]


def test_long_values_keep_what_differs():
    prefix = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:" + "x" * 60
    before, after = shorten_pair(prefix + "2.1.1-tgi1.4.0", prefix + "2.3.0-tgi2.0.2")
    assert (before, after) == ("…" + "x" * 8 + "2.1.1-tgi1.4.0", "…" + "x" * 8 + "2.3.0-tgi2.0.2")  # 10 characters of the common prefix
    # A difference in the middle of a long text: both common ends shortened to 10 characters.
    body_before, body_after = shorten_pair("a" * 100 + "over 4 GPUs" + "z" * 100, "a" * 100 + "over 8 GPUs" + "z" * 100)
    assert (body_before, body_after) == ("…aaaaaover 4 GPUszzzzz…", "…aaaaaover 8 GPUszzzzz…")
    short, gone = shorten_pair("y" * 300, None)
    assert short is not None and len(short) == 120 and short.startswith("y" * 80 + "…") and gone is None
    assert shorten_pair("a", "b") == ("a", "b")
    assert ValueChange("P", None, "b").line() == "`P`: (unset) -> `b`"


def test_resources_are_named_by_construct_path_below_the_stack():
    template = {
        "Resources": {
            "ModelA1B2": {"Type": "T", "Metadata": {"aws:cdk:path": "LlmEndpointTgi/LlmEndpoint/Model"}},
            "RoleC3D4": {"Type": "T", "Metadata": {"aws:cdk:path": "LlmEndpointTgi/LlmEndpoint/ExecutionRole/Resource"}},
            "Plain": {"Type": "T"},
        }
    }
    assert construct_path(template, "ModelA1B2") == "LlmEndpoint/Model"
    assert construct_path(template, "RoleC3D4") == "LlmEndpoint/ExecutionRole"
    assert construct_path(template, "Plain") == "Plain"
    # A stage's stack: Dev-LlmEndpointTgi has its resources under Dev/LlmEndpointTgi/.
    staged = {"Resources": {"M": {"Type": "T", "Metadata": {"aws:cdk:path": "Dev/LlmEndpointTgi/LlmEndpoint/Model/Resource"}}}}
    assert construct_path(staged, "M", "Dev-LlmEndpointTgi") == "LlmEndpoint/Model"
    assert construct_path(staged, "M", "CustomName") == "LlmEndpointTgi/LlmEndpoint/Model"
    assert construct_path(template, "ModelA1B2", "LlmEndpointTgi") == "LlmEndpoint/Model"
    assert construct_path(template, "Missing") == "Missing"


def test_an_instance_type_and_environment_change_reads_as_before_and_after():
    old = snapshot("seed")
    new = copy.deepcopy(old)
    new["Resources"][CONFIG]["Properties"]["ProductionVariants"][0] |= {"InstanceType": "ml.g5.24xlarge", "InitialInstanceCount": 2}
    environment = new["Resources"][MODEL]["Properties"]["PrimaryContainer"]["Environment"]
    environment["MAX_TOTAL_TOKENS"] = "8192"
    new["Resources"][MODEL]["Metadata"] = {"aws:cdk:path": "LlmEndpointTgi/LlmEndpoint/Model"}
    lines = report(old, new)
    assert section(lines, "## Summary") == [
        "- Stacks changed: LlmEndpointTgi (1 of 1)",
        f"- Resources replaced: 2: `{CONFIG}` (LlmEndpointTgi), `LlmEndpoint/Model` (LlmEndpointTgi)",
        "- Endpoint `LlmEndpointTgi` (LlmEndpointTgi): updated in place, **blue/green** onto a new fleet (no downtime, both fleets billed during the switch)",
        "- Price of all stacks: ~$7.09/hour -> ~$20.36/hour (+$13.27/hour); ~$5,176/month -> ~$14,863/month (+$9,687/month) (on-demand list prices)",
    ]
    assert (
        "- Price: ~$7.09/hour -> ~$20.36/hour (+$13.27/hour); ~$5,176/month -> ~$14,863/month (+$9,687/month) (on-demand list prices)"
        in lines
    )
    assert section(lines, f"`{CONFIG}` (AWS::SageMaker::EndpointConfig):") == [
        "- `ProductionVariants[0].InitialInstanceCount`: `1` -> `2`",
        "- `ProductionVariants[0].InstanceType`: `ml.g5.12xlarge` -> `ml.g5.24xlarge`",
    ]
    assert section(lines, "`LlmEndpoint/Model` (AWS::SageMaker::Model):") == [
        "- `PrimaryContainer.Environment.MAX_TOTAL_TOKENS`: `4096` -> `8192`"
    ]
    assert section(lines, "`LlmEndpoint099A270C` (AWS::SageMaker::Endpoint):") == [
        f"- `EndpointConfigName`: same text, new value: it reads `{CONFIG}`, which is replaced"
    ]
    assert "| `LlmEndpoint/Model` | AWS::SageMaker::Model | **replaced** | PrimaryContainer |" in lines
    assert not any("Security" in line for line in lines)


def test_switching_to_staged_weights_calls_out_isolation_and_the_token_and_tables_the_new_statements():
    lines = report(snapshot("seed"), snapshot("staged"))
    reference = "{{resolve:secretsmanager:llm-endpoints/huggingface-hub-token:SecretString:::}}"
    assert "- **Security-relevant changes: 2** (in LlmEndpointTgi, listed below)" in lines
    assert section(lines, "Security-relevant:") == [
        f"- Network isolation turns **on** for model `{MODEL}`: the container gets no network access (weights come from S3).",
        f"- Secret `HUGGING_FACE_HUB_TOKEN` leaves the environment of model `{MODEL}` (was `{reference}`).",
    ]
    assert f"- `PrimaryContainer.Environment.HUGGING_FACE_HUB_TOKEN`: `{reference}` -> (unset)" in lines
    assert (
        "- `PrimaryContainer.ModelDataSource.S3DataSource.S3Uri`: (unset) -> "
        "`s3://llm-models-${AWS::AccountId}-${AWS::Region}/models/meta-llama/Llama-2-13b-chat-hf/main/`"
    ) in lines
    assert section(lines, f"IAM `{POLICY}` (AWS::IAM::ManagedPolicy):") == [
        "| change | sid | effect | principal | actions | resources | conditions |",
        "|---|---|---|---|---|---|---|",
        "| **added** | `ReadWeightsObjects` | Allow |  | `s3:GetObject` | "
        "`arn:${AWS::Partition}:s3:::llm-models-${AWS::AccountId}-${AWS::Region}/models/meta-llama/Llama-2-13b-chat-hf/main/*` | "
        "`StringEquals s3:ResourceAccount = Ref(AWS::AccountId)` |",
        "| **added** | `ReadWeightsList` | Allow |  | `s3:ListBucket` | `arn:${AWS::Partition}:s3:::llm-models-${AWS::AccountId}-${AWS::Region}` | "
        "`StringEquals s3:ResourceAccount = Ref(AWS::AccountId)`<br>`StringLike s3:prefix = models/meta-llama/Llama-2-13b-chat-hf/main/*` |",
    ]
    assert not any("PolicyDocument`" in line for line in lines)  # statements are tabled, not diffed as values
    assert not any("Price" in line for line in lines)


def test_a_literal_token_in_the_environment_is_masked_everywhere():
    old = snapshot("seed")
    new = copy.deepcopy(old)
    new["Resources"][MODEL]["Properties"]["PrimaryContainer"]["Environment"]["HF_TOKEN"] = FAKE_HUB_TOKEN
    text = "\n".join(report(old, new))
    assert FAKE_HUB_TOKEN not in text
    assert f"- Secret `HF_TOKEN` **enters** the environment of model `{MODEL}` (`<redacted>`)." in text
    assert "- `PrimaryContainer.Environment.HF_TOKEN`: (unset) -> `<redacted>`" in text


def test_a_new_endpoint_name_replaces_the_endpoint_and_a_removed_policy_statement_is_listed():
    old = snapshot("seed")
    new = copy.deepcopy(old)
    new["Resources"]["LlmEndpoint099A270C"]["Properties"]["EndpointName"] = "LlmEndpointTgi2"
    statements = new["Resources"][POLICY]["Properties"]["PolicyDocument"]["Statement"]
    statements[:] = [s for s in statements if s["Sid"] != "GetRegistryToken"]
    lines = report(old, new)
    assert section(lines, "## Summary") == [
        "- Stacks changed: LlmEndpointTgi (1 of 1)",
        "- Resources replaced: 1: `LlmEndpoint099A270C` (LlmEndpointTgi)",
        "- Endpoint `LlmEndpointTgi2` (LlmEndpointTgi): **replaced**, a new endpoint; clients of the old one fail until they switch",
    ]
    assert "| removed | `GetRegistryToken` | Allow |  | `ecr:GetAuthorizationToken` | `*` |  |" in lines
    assert "- `EndpointName`: `LlmEndpointTgi` -> `LlmEndpointTgi2`" in lines


def test_an_endpoint_tag_change_is_an_in_place_update_of_the_same_fleet():
    old = snapshot("seed")
    new = copy.deepcopy(old)
    new["Resources"]["LlmEndpoint099A270C"]["Properties"]["Tags"] = [{"Key": "team", "Value": "ml"}]
    lines = report(old, new)
    assert "- Endpoint `LlmEndpointTgi` (LlmEndpointTgi): updated in place, same fleet" in lines
    assert "- Resources replaced: 0" in lines
    assert "- `Tags[0].Key`: (unset) -> `team`" in lines and "- `Tags[0].Value`: (unset) -> `ml`" in lines


def test_unchanged_assemblies_say_so_without_a_summary():
    template = snapshot("seed")
    assert report(template, template) == ["# Infrastructure changes against `main`", "", "No changes to any stack."]


def test_price_lines_show_the_difference_both_ways():
    assert price_line(7.09, 10.18) == "~$7.09/hour -> ~$10.18/hour (+$3.09/hour); ~$5,176/month -> ~$7,431/month (+$2,256/month)"
    assert price_line(2, 1) == "~$2.00/hour -> ~$1.00/hour (-$1.00/hour); ~$1,460/month -> ~$730/month (-$730/month)"


def test_statement_rows_show_principals_negations_conditions_and_escape_pipes():
    statement = {
        "Effect": "Deny",
        "Principal": {"Service": ["a.amazonaws.com", "b.amazonaws.com"], "AWS": {"Fn::GetAtt": ["Role", "Arn"]}},
        "NotAction": "s3:Get|Object",
        "NotResource": [PARTITION_JOIN],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert statement_row("removed", statement) == (
        "| removed |  | Deny | `AWS Role.Arn`<br>`Service a.amazonaws.com`<br>`Service b.amazonaws.com` | `NOT s3:Get\\|Object` | "
        "`NOT arn:${AWS::Partition}:s3:::bucket-${AWS::AccountId}/*` | `Bool aws:SecureTransport = false` |"
    )


def test_role_trust_policy_changes_are_tabled_under_the_role():
    def role(service: str) -> dict:
        document = {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": service}}]}
        return {"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": document}}}}

    assert iam_tables(role("a.amazonaws.com"), role("b.amazonaws.com")) == [
        "IAM `Role` (AWS::IAM::Role):",
        "",
        "| change | sid | effect | principal | actions | resources | conditions |",
        "|---|---|---|---|---|---|---|",
        "| **added** |  | Allow | `Service b.amazonaws.com` | `sts:AssumeRole` |  |  |",
        "| removed |  | Allow | `Service a.amazonaws.com` | `sts:AssumeRole` |  |  |",
        "",
    ]
    assert iam_tables(role("a"), role("a")) == []
    lines = report(role("a.amazonaws.com"), role("b.amazonaws.com"), "S")
    assert not any(line.startswith("- `AssumeRolePolicyDocument") for line in lines)


def resources(**found: dict) -> dict:
    return {"Resources": found}


def test_security_notes_for_models():
    def model(**props: object) -> dict:
        return {"Type": "AWS::SageMaker::Model", "Properties": props}

    old = resources(
        M=model(
            EnableNetworkIsolation=True, VpcConfig={"Subnets": []}, PrimaryContainer={"Environment": {"HF_TOKEN": "{{resolve:ssm:/a}}"}}
        )
    )
    new = resources(M=model(PrimaryContainer={"Environment": {"HF_TOKEN": "{{resolve:ssm:/b}}"}}))
    assert security_notes(old, new) == [
        "Network isolation turns **off** for model `M`: the container can reach the internet.",
        "Secret `HF_TOKEN` of model `M` changes: `{{resolve:ssm:/a}}` -> `{{resolve:ssm:/b}}`.",
        "Model `M` **leaves its VPC** (VpcConfig removed): its traffic no longer goes through the VPC's subnets and security groups.",
    ]
    assert security_notes(new, old)[-1] == "Model `M` moves **into a VPC** (VpcConfig added)."
    assert security_notes(old, old) == []


def test_security_notes_for_keys_ingress_and_public_access():
    def config(**props: object) -> dict:
        return {"Type": "AWS::SageMaker::EndpointConfig", "Properties": props}

    def bucket(**flags: bool) -> dict:
        return {"Type": "AWS::S3::Bucket", "Properties": {"PublicAccessBlockConfiguration": flags}}

    def group(*rules: dict) -> dict:
        return {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": list(rules)}}

    https = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
    old = resources(B=bucket(BlockPublicAcls=True, BlockPublicPolicy=True), C=config(KmsKeyId={"Ref": "Key"}), G=group(), K=config())
    new = resources(
        B=bucket(BlockPublicAcls=True, IgnorePublicAcls=True),
        C=config(),
        G=group(https),
        I={"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"IpProtocol": "-1", "SourceSecurityGroupId": {"Ref": "Other"}}},
        K=config(KmsKeyId={"Fn::GetAtt": ["Key", "Arn"]}),
    )
    assert security_notes(old, new) == [
        "**Public access**: bucket `B` no longer sets `BlockPublicPolicy`.",
        "Bucket `B` now sets `IgnorePublicAcls` (less public access).",
        "Encryption key removed from `C` (`KmsKeyId` was `Ref(Key)`): AWS-managed encryption instead.",
        "**New ingress rule** on security group `G`: tcp port 443 from 0.0.0.0/0 (**the whole internet**).",
        "**New ingress rule** `I`: all protocols all ports from Ref(Other).",
        "Encryption key added to `K`: `KmsKeyId` = `Key.Arn`.",
    ]


def test_a_new_and_a_removed_stack_are_summarized_with_their_endpoints_and_prices():
    seed = snapshot("seed")
    old = Assembly({"Gone": seed})
    new = Assembly({"Dev-LlmEndpointTgi": seed})
    lines = render(old, new, "main").splitlines()
    assert section(lines, "## Summary") == [
        "- Stacks changed: Dev-LlmEndpointTgi, Gone (2 of 2)",
        "- Resources replaced: 0",
        "- Endpoint `LlmEndpointTgi` (Dev-LlmEndpointTgi): added",
        "- Endpoint `LlmEndpointTgi` (Gone): removed",
        # One fleet added, one removed: the same total.
        "- Price of all stacks: ~$7.09/hour -> ~$7.09/hour (+$0.00/hour); ~$5,176/month -> ~$5,176/month (+$0/month) (on-demand list prices)",
    ]
    assert "## Dev-LlmEndpointTgi (new stack)" in lines and "## Gone (removed stack)" in lines
    assert "- Price: ~$0.00/hour -> ~$7.09/hour (+$7.09/hour); ~$0/month -> ~$5,176/month (+$5,176/month) (on-demand list prices)" in lines


def test_an_instance_type_without_a_list_price_leaves_the_total_unknown():
    old = snapshot("seed")
    new = copy.deepcopy(old)
    new["Resources"][CONFIG]["Properties"]["ProductionVariants"][0]["InstanceType"] = "ml.unknown.xlarge"
    lines = report(old, new)
    assert "- Price: unknown (an instance type without a list price)" in lines
    assert not any(line.startswith("- Price of all stacks") for line in lines)


def test_secrets_in_any_container_of_a_model_are_tracked():
    def model(*environments: dict) -> dict:
        containers = [{"Environment": e} for e in environments]
        return resources(M={"Type": "AWS::SageMaker::Model", "Properties": {"Containers": containers}})

    assert security_notes(model({}, {"API_KEY": "{{resolve:ssm:/k}}"}), model({}, {}), "S") == [
        "Secret `API_KEY` leaves the environment of model `M` (was `{{resolve:ssm:/k}}`)."
    ]
    assert security_notes(model({"MAX_TOTAL_TOKENS": "1"}), model({"MAX_TOTAL_TOKENS": "2"})) == []


# --- values: each rule by itself ---------------------------------------------------------------


def test_a_secret_named_key_masks_its_literal_wherever_the_value_sits():
    from blueprint.review import values

    assert values.render(["plain", "text"], "HF_TOKEN") == "[<redacted>, <redacted>]"
    assert values.render({"HF_TOKEN": "plain", "N": "1"}) == "{HF_TOKEN: <redacted>, N: 1}"
    assert values.render({"Fn::Join": ["", ["abc", {"Ref": "X"}]]}, "API_KEY") == "<redacted>${X}"
    assert values.render({"Fn::Sub": "abc"}, "DB_PASSWORD") == "<redacted>"
    assert values.render({"Fn::Select": [0, ["abc"]]}, "MY_SECRET") == "Select(0, [<redacted>])"
    assert values.render({"Fn::Join": ["-", [{"Fn::Select": [0, ["abc"]]}]]}, "HF_TOKEN") == "${Select(0, [<redacted>])}"
    assert values.render(3.5, "HF_TOKEN") == "3.5" and values.render(7) == "7"
    assert values.render(b"raw", "HF_TOKEN") == "<redacted>" and values.render(b"raw") == "b'raw'"
    assert values.render("", "HF_TOKEN") == ""  # nothing to hide
    assert values.render("plain", "MAX_TOTAL_TOKENS") == "plain"


def test_scalars_and_intrinsics_read_as_text():
    from blueprint.review import values

    assert (values.render(True), values.render(False), values.render(None)) == ("true", "false", "null")
    assert values.render({"Ref": "Bucket"}) == "Ref(Bucket)"
    assert values.render({"Ref": ["not", "a", "name"]}) == "Ref(not, a, name)"  # not a plain Ref: generic
    assert values.render({"Fn::GetAtt": "Role.Arn"}) == "Role.Arn"
    assert values.render({"Fn::Join": "not-a-list"}) == "Join(not-a-list)"
    assert values.render({"Fn::Join": ["", "parts-not-a-list"]}) == "Join(, parts-not-a-list)"
    assert values.render({"Fn::Sub": ["${A}-b", {"A": "x"}]}) == "${A}-b"
    assert values.canonical({"b": 1, "a": [2]}) == '{"a": [2], "b": 1}'


def test_value_changes_order_indexes_numerically_and_mask_by_the_leaf_name():
    from blueprint.review import values

    before = {"Env": {"HF_TOKEN": "old-value", "N": "1"}, "List": [str(i) for i in range(11)]}
    after = {"Env": {"HF_TOKEN": "new-value", "N": "2"}, "List": [*[str(i) for i in range(10)], "changed"]}
    after["List"][2] = "two"
    lines = [c.line() for c in values.value_changes(before, after, ["Env", "List"])]
    assert lines == [
        "`Env.HF_TOKEN`: `<redacted>` -> `<redacted>`",
        "`Env.N`: `1` -> `2`",
        "`List[2]`: `2` -> `two`",
        "`List[10]`: `10` -> `changed`",
    ]
    assert values.flatten({"A": 1}, "") == {"A": 1}


def test_shortening_keeps_what_differs_at_the_limits():
    from blueprint.review import values

    assert values.shorten("x" * 120) == "x" * 120 and values.shorten("x" * 121) == "x" * 80 + "…" + "x" * 39
    assert values.shorten_pair("a" * 120, "b" * 120) == ("a" * 120, "b" * 120)  # at the limit: whole
    same21, same20 = "s" * 21, "s" * 20
    long_a, long_b = same21 + "a" * 100, same21 + "b" * 100
    assert values.shorten_pair(long_a, long_b) == ("…" + long_a[11:], "…" + long_b[11:])
    short_a, short_b = same20 + "a" * 101, same20 + "b" * 101
    assert values.shorten_pair(short_a, short_b) == (values.shorten(short_a), values.shorten(short_b))  # 20 common: kept
    tail_a, tail_b = "a" * 100 + same21, "b" * 100 + same21
    assert values.shorten_pair(tail_a, tail_b) == (values.shorten(tail_a[:-11] + "…"), values.shorten(tail_b[:-11] + "…"))
    assert values.shorten_pair(None, "x" * 130) == (None, values.shorten("x" * 130))
    assert values.shorten_pair("x" * 130, None) == (values.shorten("x" * 130), None)
    assert values._common_prefix("abc", "abcdef") == "abc" and values._common_prefix("abcdef", "abc") == "abc"


def test_construct_paths_fall_back_to_the_logical_id():
    from blueprint.review import values

    template = {"Resources": {"A": {"Metadata": {"aws:cdk:path": "Stack/Group/A/Resource"}}, "B": "not a dict", "C": {}}}
    assert values.construct_path(template, "A", "Stack") == "Group/A"
    assert values.construct_path(template, "A") == "Group/A"  # the first segment is the stack's
    assert [values.construct_path(template, x) for x in ("B", "C", "D")] == ["B", "C", "D"]
    assert values.construct_path({}, "A") == "A"
    stage = {"Resources": {"A": {"Metadata": {"aws:cdk:path": "Dev/Llm/A/Resource"}}}}
    assert values.construct_path(stage, "A", "Dev-Llm") == "A"
    assert values.construct_path(stage, "A", "Llm") == "Llm/A"  # no leading segments join to it: the first is the stack's


# --- security notes: each rule by itself --------------------------------------------------------


def _tpl(resources: dict) -> dict:
    return {"Resources": resources}


def test_ingress_rules_are_written_out_with_their_ports_and_sources():
    from blueprint.review import security

    def text(**rule: object) -> str:
        return security._ingress_text(rule)

    assert text(IpProtocol="tcp", FromPort=443, ToPort=443, CidrIp="10.0.0.0/8") == "tcp port 443 from 10.0.0.0/8"
    assert text(IpProtocol="tcp", FromPort=8000, ToPort=8080, CidrIpv6="::/0") == "tcp ports 8000-8080 from ::/0 (**the whole internet**)"
    assert text(IpProtocol="-1", CidrIp="0.0.0.0/0") == "all protocols all ports from 0.0.0.0/0 (**the whole internet**)"
    assert text(IpProtocol="-1", FromPort=1, ToPort=2, SourceSecurityGroupId="sg-1") == "all protocols all ports from sg-1"
    assert text(IpProtocol="udp", SourcePrefixListId="pl-1") == "udp all ports from pl-1"
    assert text(FromPort=22, ToPort=22) == "? port 22 from ?"
    assert text(IpProtocol="tcp", FromPort=22, ToPort=22, SourceSecurityGroupId={"Ref": "Group"}) == "tcp port 22 from Ref(Group)"


def test_a_new_or_changed_ingress_resource_and_a_group_rule_are_called_out_by_construct_path():
    from blueprint.review import security

    rule = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"}
    meta = {"Metadata": {"aws:cdk:path": "Stack/Net/Ingress"}}
    new = _tpl({"I": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": rule, **meta}})
    expected = "**New ingress rule** `Net/Ingress`: tcp port 22 from 0.0.0.0/0 (**the whole internet**)."
    assert security.security_notes(_tpl({}), new, "Stack") == [expected]
    unchanged = _tpl({"I": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": dict(rule)}})
    assert security.security_notes(unchanged, new, "Stack") == []
    widened = _tpl({"I": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {**rule, "CidrIp": "10.0.0.0/8"}}})
    assert security.security_notes(widened, new, "Stack") == [expected]
    group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {"SecurityGroupIngress": [rule]}}
    empty_group = {"Type": "AWS::EC2::SecurityGroup", "Properties": {}}
    assert security.security_notes(_tpl({"G": empty_group}), _tpl({"G": group})) == [
        "**New ingress rule** on security group `G`: tcp port 22 from 0.0.0.0/0 (**the whole internet**)."
    ]
    assert security.security_notes(_tpl({"G": group}), _tpl({"G": group})) == []
    assert security.security_notes(_tpl({"G": {"Type": "AWS::EC2::SecurityGroup"}}), _tpl({"G": group}))  # no properties before


def test_secrets_keys_and_removed_resources_by_themselves():
    from blueprint.review import security

    def model(env: dict, **extra: object) -> dict:
        return {"Type": "AWS::SageMaker::Model", "Properties": {"PrimaryContainer": {"Environment": env}, **extra}}

    ref = "{{resolve:secretsmanager:a:SecretString:::}}"
    assert security.secret_environment(
        {"PrimaryContainer": {"Environment": "not a map"}, "Containers": [{"Environment": {"HF_TOKEN": "x"}}]}
    ) == {"HF_TOKEN": "<redacted>"}
    assert security.secret_environment({"PrimaryContainer": {}}) == {}
    assert security.secret_environment({"PrimaryContainer": {"Environment": {"A": ref, "N": "1"}}}) == {"A": ref}
    notes = security.security_notes(_tpl({"M": model({"HF_TOKEN": "old"})}), _tpl({"M": model({"HF_TOKEN": ref})}))
    assert notes == [f"Secret `HF_TOKEN` of model `M` changes: `<redacted>` -> `{ref}`."]
    key = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"KmsKeyId": "arn:k1"}}
    rekeyed = {"Type": "AWS::SageMaker::EndpointConfig", "Properties": {"KmsKeyId": {"Ref": "Key"}}}
    assert security.security_notes(_tpl({"C": key}), _tpl({"C": rekeyed})) == [
        "Encryption key of `C` changes: `KmsKeyId` `arn:k1` -> `Ref(Key)`."
    ]
    gone = {"Type": "AWS::SageMaker::Model", "Properties": {"EnableNetworkIsolation": True}}
    assert security.security_notes(_tpl({"M": gone}), _tpl({})) == []  # a removed resource: the change table says so
    assert security.security_notes(_tpl({"M": {"Type": "AWS::SageMaker::Model"}}), _tpl({"M": model({}, EnableNetworkIsolation=True)})) == [
        "Network isolation turns **on** for model `M`: the container gets no network access (weights come from S3)."
    ]
    path_meta = {"Metadata": {"aws:cdk:path": "S/Old/M"}}
    assert security.security_notes(
        _tpl({"M": {**model({}), **path_meta, "Properties": {"KmsKeyId": "k"}}}), _tpl({"M": model({})}), "S"
    ) == [
        "Encryption key removed from `M` (`KmsKeyId` was `k`): AWS-managed encryption instead."
    ]  # named by the new template, which has no path here
