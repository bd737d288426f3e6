"""What a template change adds, removes, modifies and replaces, on small hand-written templates."""

from __future__ import annotations

from blueprint.review.template_changes import ResourceChange, compare, create_only_properties, references

MODEL, CONFIG, ENDPOINT, ROLE, TOPIC = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
    "AWS::IAM::Role",
    "AWS::SNS::Topic",
)


def resource(kind: str, **properties: object) -> dict:
    return {"Type": kind, "Properties": properties} if properties else {"Type": kind}


def template(**resources: dict) -> dict:
    return {"Resources": resources}


def by_id(changes: list[ResourceChange]) -> dict[str, ResourceChange]:
    return {c.logical_id: c for c in changes}


def test_create_only_properties_come_from_the_registry_schema():
    assert create_only_properties(MODEL) >= {"PrimaryContainer", "ExecutionRoleArn", "ModelName"}
    assert "Tags" not in create_only_properties(MODEL)
    assert create_only_properties(ENDPOINT) == frozenset({"EndpointName"})
    assert create_only_properties("AWS::S3::Bucket", "eu-west-1") >= {"BucketName"}
    assert create_only_properties("AWS::Nothing::Here") == frozenset()


def test_unchanged_templates_have_no_changes():
    same = template(Role=resource(ROLE, Path="/"), Topic=resource(TOPIC))
    assert compare(same, same) == []
    assert compare({}, {}) == []


def test_added_removed_and_modified_resources_in_logical_id_order():
    old = template(B=resource(TOPIC, DisplayName="a"), C=resource(ROLE, Path="/"), D=resource(TOPIC, DisplayName="x"))
    new = template(A=resource(TOPIC), B=resource(TOPIC, DisplayName="b", TopicName="t"), D=resource(TOPIC, DisplayName="x"))
    changes = compare(old, new)
    assert [(c.logical_id, c.type, c.kind) for c in changes] == [("A", TOPIC, "added"), ("B", TOPIC, "modified"), ("C", ROLE, "removed")]
    b = changes[1]
    assert b.changed_properties == ["DisplayName", "TopicName"]
    assert b.replaced_by == ["TopicName"]  # create-only: a new topic
    assert b.replaces and not changes[0].replaces
    assert b.blocked_by_name is None


def test_an_in_place_change_does_not_replace():
    changes = compare(template(T=resource(TOPIC, DisplayName="a")), template(T=resource(TOPIC, DisplayName="b")))
    assert [(c.kind, c.changed_properties, c.replaced_by, c.replaces) for c in changes] == [("modified", ["DisplayName"], [], False)]


def test_a_type_change_alone_is_a_modification():
    changes = compare(template(X=resource(TOPIC)), template(X=resource(ROLE)))
    assert [(c.logical_id, c.type, c.kind, c.changed_properties) for c in changes] == [("X", ROLE, "modified", [])]


def test_readers_of_a_replaced_resource_change_and_are_replaced_through_create_only_properties():
    # Role replaced (Path is create-only) -> Model reads its Arn in ExecutionRoleArn (create-only)
    # -> replaced -> EndpointConfig reads the Model's name in ProductionVariants (create-only) ->
    # replaced -> Endpoint reads the config in EndpointConfigName (updatable): modified only.
    def app(path: str) -> dict:
        return template(
            Role=resource(ROLE, Path=path),
            Model=resource(MODEL, Tags=[{"Key": "k", "Value": "v"}], ExecutionRoleArn={"Fn::GetAtt": ["Role", "Arn"]}),
            Config=resource(CONFIG, ProductionVariants=[{"ModelName": {"Fn::GetAtt": "Model.ModelName"}}]),
            Endpoint=resource(ENDPOINT, EndpointConfigName={"Ref": "Config"}),
            Alarm=resource(TOPIC, DisplayName="unrelated"),
        )

    changes = by_id(compare(app("/"), app("/new/")))
    assert sorted(changes) == ["Config", "Endpoint", "Model", "Role"]
    assert changes["Role"].replaced_by == ["Path"]
    assert (changes["Model"].changed_properties, changes["Model"].replaced_by) == (["ExecutionRoleArn"], ["ExecutionRoleArn"])
    assert (changes["Config"].changed_properties, changes["Config"].replaced_by) == (["ProductionVariants"], ["ProductionVariants"])
    assert (changes["Endpoint"].kind, changes["Endpoint"].changed_properties, changes["Endpoint"].replaces) == (
        "modified",
        ["EndpointConfigName"],
        False,
    )
    assert [changes[i].type for i in ("Role", "Model", "Config", "Endpoint")] == [ROLE, MODEL, CONFIG, ENDPOINT]


def test_readers_of_a_resource_updated_in_place_do_not_change():
    def app(name: str) -> dict:
        return template(Topic=resource(TOPIC, DisplayName=name), Reader=resource(ROLE, Description={"Ref": "Topic"}))

    assert [(c.logical_id, c.replaces) for c in compare(app("a"), app("b"))] == [("Topic", False)]


def test_an_added_resource_changes_its_readers_but_not_removed_or_added_ones():
    old = template(
        Endpoint=resource(ENDPOINT, EndpointConfigName="fixed", Tags=[{"Key": "c", "Value": {"Ref": "Config"}}]), Gone=resource(TOPIC)
    )
    new = template(
        Config=resource(CONFIG, ProductionVariants=[]),
        Endpoint=resource(ENDPOINT, EndpointConfigName="fixed", Tags=[{"Key": "c", "Value": {"Ref": "Config"}}]),
        Reader=resource(MODEL, PrimaryContainer={"Image": {"Fn::GetAtt": ["Config", "EndpointConfigName"]}}),
    )
    changes = by_id(compare(old, new))
    assert changes["Config"].kind == "added" and changes["Reader"].kind == "added"
    assert changes["Reader"].changed_properties == [] and changes["Reader"].replaced_by == []
    assert changes["Endpoint"].changed_properties == ["Tags"]
    assert changes["Gone"].kind == "removed"


def test_a_property_already_changed_is_not_listed_twice():
    old = template(Role=resource(ROLE, Path="/"), Model=resource(MODEL, ExecutionRoleArn={"Fn::GetAtt": ["Role", "Arn"]}, ModelName="m"))
    new = template(
        Role=resource(ROLE, Path="/x/"),
        Model=resource(MODEL, ExecutionRoleArn={"Fn::Join": ["", [{"Fn::GetAtt": ["Role", "Arn"]}]]}, ModelName="m"),
    )
    model = by_id(compare(old, new))["Model"]
    assert model.changed_properties == ["ExecutionRoleArn"]
    assert model.replaced_by == ["ExecutionRoleArn"]
    assert model.blocked_by_name == "ModelName"  # a replacement under the same fixed name fails


def test_a_replacement_is_blocked_only_by_a_fixed_name_that_is_set_and_unchanged():
    def model(name: str | None, image: str) -> dict:
        props = {"PrimaryContainer": {"Image": image}} | ({"ModelName": name} if name else {})
        return template(M=resource(MODEL, **props))

    assert compare(model("m", "a"), model("m", "b"))[0].blocked_by_name == "ModelName"
    assert compare(model("m", "a"), model("n", "b"))[0].blocked_by_name is None  # a new name: no clash
    assert compare(model(None, "a"), model(None, "b"))[0].blocked_by_name is None
    config_old = template(C=resource(CONFIG, EndpointConfigName="c", ProductionVariants=[1]))
    config_new = template(C=resource(CONFIG, EndpointConfigName="c", ProductionVariants=[2]))
    assert compare(config_old, config_new)[0].blocked_by_name == "EndpointConfigName"
    # A type without a name property, or a change that replaces nothing, is never blocked.
    assert compare(template(T=resource(TOPIC, TopicName="a")), template(T=resource(TOPIC, TopicName="b")))[0].blocked_by_name is None
    tags = compare(template(M=resource(MODEL, ModelName="m", Tags=[])), template(M=resource(MODEL, ModelName="m", Tags=[1])))
    assert tags[0].blocked_by_name is None


def test_a_replacement_of_a_resource_left_without_properties_is_not_blocked():
    changes = compare(template(M=resource(MODEL, ModelName="m", PrimaryContainer={})), template(M=resource(MODEL)))
    assert [(c.replaced_by, c.blocked_by_name) for c in changes] == [(["ModelName", "PrimaryContainer"], None)]


def test_references_in_every_shape():
    assert references({"Ref": "A"}) == {"A"}
    assert references({"Ref": {"Fn::Sub": "x"}}) == set()
    assert references({"Fn::GetAtt": ["B", "Arn"]}) == {"B"}
    assert references({"Fn::GetAtt": "C.Outputs.Name"}) == {"C"}
    assert references([{"Ref": "A"}, [{"x": {"Ref": "D"}}], "Ref"]) == {"A", "D"}
    assert references({"Fn::If": ["cond", {"Ref": "E"}, {"Fn::GetAtt": ["F", "Arn"]}]}) == {"E", "F"}
    assert references("Ref") == set() and references(3) == set()


def test_resources_without_properties_are_compared_and_read_safely():
    changes = compare(template(A=resource(TOPIC)), template(A=resource(TOPIC, DisplayName="x"), B=resource(ROLE)))
    assert [(c.logical_id, c.kind) for c in changes] == [("A", "modified"), ("B", "added")]


def test_a_components_new_model_replaces_the_model_and_updates_the_component_in_place():
    import copy
    import json

    from tests.conftest import ROOT

    old = json.loads((ROOT / "tests" / "snapshots" / "qwen3-packed" / "qwen-14b.template.json").read_text())
    new = copy.deepcopy(old)
    (model,) = [k for k, r in new["Resources"].items() if r["Type"] == "AWS::SageMaker::Model"]
    new["Resources"][model]["Properties"]["PrimaryContainer"]["Environment"]["SM_VLLM_MAX_MODEL_LEN"] = "4096"
    changes = {c.type: c for c in compare(old, new)}
    assert changes["AWS::SageMaker::Model"].replaces  # a model's container is create-only
    component = changes["AWS::SageMaker::InferenceComponent"]
    # It reads the model's name: modified, and updated in place (the resource has no create-only property).
    assert (component.kind, component.changed_properties, component.replaces) == ("modified", ["Specification"], False)


def test_a_shared_endpoints_new_fleet_replaces_its_config_not_its_endpoint():
    import copy
    import json

    from tests.conftest import ROOT

    old = json.loads((ROOT / "tests" / "snapshots" / "qwen3-packed" / "shared-pool.template.json").read_text())
    new = copy.deepcopy(old)
    (config,) = [k for k, r in new["Resources"].items() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
    new["Resources"][config]["Properties"]["ProductionVariants"][0]["ManagedInstanceScaling"]["MaxInstanceCount"] = 2
    changes = {c.type: c for c in compare(old, new)}
    assert changes["AWS::SageMaker::EndpointConfig"].replaced_by == ["ProductionVariants"]
    assert (changes["AWS::SageMaker::Endpoint"].kind, changes["AWS::SageMaker::Endpoint"].replaces) == ("modified", False)
