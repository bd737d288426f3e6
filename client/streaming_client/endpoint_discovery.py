"""Finding the endpoint to call: from a stack's outputs or a name, its status, its deployment and
engine, and on an endpoint that hosts inference components, the component to invoke."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from streaming_client.aws_errors import translate
from streaming_client.aws_session import aws_session
from streaming_client.engines import ENGINES, engine_of_image
from streaming_client.errors import EndpointNotFound, EndpointNotInService, SmokeTestError, UsageError

# The app's endpoint stack ids: this prefix and the deployment's name (its blueprint/config/names.py
# `endpoint_stack_id`; the client installs alone, without the app, and a test keeps the two equal).
ENDPOINT_STACK_PREFIX = "LlmEndpoint"
WAITING_STATES = {"Creating", "Updating", "SystemUpdating", "RollingBack"}


@dataclass(frozen=True)
class EndpointTarget:
    name: str
    variant: str | None  # the deployment's name in the app (a `variants.<name>` key), when known
    stack: str | None = None
    engine: str | None = None  # an ENGINES name, when a stack output or the caller says so
    # The inference component to invoke (InferenceComponentName), on an endpoint that hosts them;
    # None for a dedicated endpoint (its model is the endpoint config's).
    component: str | None = None


def stack_for_deployment(name: str, app_name: str = "") -> str:
    """The app's endpoint stack for deployment `name`: `LlmEndpoint` and the name's hyphen-separated
    words capitalized (`qwen-vllm` -> `LlmEndpointQwenVllm`); an app with an `app_name` prefixes it."""
    stack = ENDPOINT_STACK_PREFIX + "".join(word.capitalize() for word in name.split("-"))
    return f"{app_name}-{stack}" if app_name else stack


def engine_of_outputs(outputs: dict[str, str]) -> str | None:
    """The engine a stack's outputs name: `ServingEngine`, or for a stack deployed before it existed
    its `ServingVariant` when that is an engine's name (the deployments were named by engine then)."""
    for key in ("ServingEngine", "ServingVariant"):
        if outputs.get(key) in ENGINES:
            return outputs[key]
    return None


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """A deployed stack's outputs by key."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # noqa: BLE001 - every failure becomes one typed line
        raise translate(error, f"reading stack {stack_name}") from None
    return {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])} if stacks else {}


def target_from_stack(cloudformation: Any, stack_name: str) -> EndpointTarget:
    """The endpoint named by a stack's `EndpointName` output, its deployment (`ServingVariant`), its
    engine, and for a deployment hosted as an inference component its `InferenceComponentName`."""
    outputs = stack_outputs(cloudformation, stack_name)
    if "EndpointName" not in outputs:
        raise EndpointNotFound(f"stack {stack_name} has no EndpointName output (is it an endpoint stack, deployed?)")
    return EndpointTarget(
        outputs["EndpointName"],
        outputs.get("ServingVariant"),
        stack_name,
        engine_of_outputs(outputs),
        outputs.get("InferenceComponentName"),
    )


def describe_endpoint(sagemaker: Any, name: str) -> dict:
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except Exception as error:  # noqa: BLE001
        raise translate(error, f"describing endpoint {name}") from None


def require_in_service(description: dict) -> None:
    status = description.get("EndpointStatus")
    if status != "InService":
        reason = description.get("FailureReason")
        detail = f": {reason}" if reason else ""
        raise EndpointNotInService(f"endpoint {description.get('EndpointName')} is {status}{detail}")


def wait_in_service(
    sagemaker: Any,
    name: str,
    *,
    timeout_s: float,
    poll_s: float,
    on_status: Callable[[str, float], None] = lambda status, elapsed: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict:
    """Poll DescribeEndpoint until InService; fail at once on Failed/OutOfService, or at the time limit."""
    start = clock()
    while True:
        description = describe_endpoint(sagemaker, name)
        status = description.get("EndpointStatus", "Unknown")
        elapsed = clock() - start
        on_status(status, elapsed)
        if status == "InService":
            return description
        if status not in WAITING_STATES:
            require_in_service(description)
        if elapsed + poll_s > timeout_s:
            raise EndpointNotInService(f"endpoint {name} is still {status} after {elapsed:.0f} s (limit {timeout_s:.0f} s)")
        sleep(poll_s)


@dataclass(frozen=True)
class Fleet:
    instance_type: str
    instances: int


def deployed_fleet(sagemaker: Any, description: dict) -> Fleet | None:
    """The instance type and running instance count of the endpoint's first production variant
    (None for a serverless variant, which has no instance type)."""
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=description["EndpointConfigName"])
    except Exception as error:  # noqa: BLE001
        raise translate(error, f"reading the config of endpoint {description.get('EndpointName')}") from None
    variant = config["ProductionVariants"][0]
    if "InstanceType" not in variant:
        return None
    running = (description.get("ProductionVariants") or [{}])[0]
    return Fleet(variant["InstanceType"], int(running.get("CurrentInstanceCount") or variant.get("InitialInstanceCount") or 1))


def detect_engine(sagemaker: Any, description: dict, component: dict | None = None) -> str | None:
    """The engine (engines.py) from the image of the model: the endpoint's (DescribeEndpointConfig,
    DescribeModel), or given a component's DescribeInferenceComponent answer, the component's (its
    `Specification.ModelName`, else the image its `Specification.Container` deployed)."""
    if component is not None:
        specification = component.get("Specification") or {}
        model_name = specification.get("ModelName")
        if model_name is None:
            deployed = (specification.get("Container") or {}).get("DeployedImage") or {}
            return engine_of_image(deployed.get("ResolvedImage") or deployed.get("SpecifiedImage") or "")
        doing = f"reading the model of component {component.get('InferenceComponentName')}"
    else:
        doing = f"reading the model of endpoint {description.get('EndpointName')}"
    try:
        if component is None:
            config = sagemaker.describe_endpoint_config(EndpointConfigName=description["EndpointConfigName"])
            model_name = config["ProductionVariants"][0].get("ModelName")
            if model_name is None:  # an endpoint for inference components: the models are theirs
                return None
        model = sagemaker.describe_model(ModelName=model_name)
    except SmokeTestError:
        raise
    except Exception as error:  # noqa: BLE001
        raise translate(error, doing) from None
    containers = [model["PrimaryContainer"]] if model.get("PrimaryContainer") else model.get("Containers", [])
    for container in containers:
        engine = engine_of_image(container.get("Image", ""))
        if engine is not None:
            return engine
    return None


def describe_component(sagemaker: Any, name: str) -> dict:
    try:
        return sagemaker.describe_inference_component(InferenceComponentName=name)
    except Exception as error:  # noqa: BLE001
        raise translate(error, f"describing inference component {name}") from None


def current_copies(component: dict) -> int | None:
    """The copies a component runs now (`RuntimeConfig.CurrentCopyCount`; None when not reported)."""
    count = (component.get("RuntimeConfig") or {}).get("CurrentCopyCount")
    return int(count) if count is not None else None


def endpoint_components(sagemaker: Any, endpoint: str) -> list[str]:
    """The names of the inference components an endpoint hosts (ListInferenceComponents, every page)."""
    names: list[str] = []
    request: dict[str, Any] = {"EndpointNameEquals": endpoint}
    try:
        while True:
            page = sagemaker.list_inference_components(**request)
            names += [summary["InferenceComponentName"] for summary in page.get("InferenceComponents", [])]
            if not page.get("NextToken"):
                return sorted(names)
            request["NextToken"] = page["NextToken"]
    except Exception as error:  # noqa: BLE001
        raise translate(error, f"listing the inference components of endpoint {endpoint}") from None


def hosts_components(sagemaker: Any, description: dict) -> bool:
    """Whether the endpoint is one for inference components: its config's variant names no model.
    A caller not allowed to read the config (a role made for a dedicated endpoint) calls it as a
    dedicated one: were it not, the runtime's refusal says a component is needed."""
    try:
        config = sagemaker.describe_endpoint_config(EndpointConfigName=description["EndpointConfigName"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("AccessDeniedException", "AccessDenied"):
            return False
        raise translate(error, f"reading the config of endpoint {description.get('EndpointName')}") from None
    except Exception as error:  # noqa: BLE001
        raise translate(error, f"reading the config of endpoint {description.get('EndpointName')}") from None
    return not config["ProductionVariants"][0].get("ModelName")


def with_component(sagemaker: Any, target: EndpointTarget, description: dict) -> EndpointTarget:
    """The target with its inference component: the one `--component` or the stack named, else
    for an endpoint named alone, the one it hosts (none: a dedicated endpoint; several: a usage
    error that lists them). A dedicated endpoint's config names its model, so it is not listed."""
    if target.component or target.stack is not None or not hosts_components(sagemaker, description):
        return target
    names = endpoint_components(sagemaker, target.name)
    if len(names) > 1:
        raise UsageError(
            f"endpoint {target.name} hosts {len(names)} inference components ({', '.join(names)}): pass --component NAME, one of them"
        )
    return replace(target, component=names[0]) if names else target


def check_component_endpoint(component: dict, target: EndpointTarget) -> None:
    """A component named with --component must be one of the target endpoint's."""
    if component.get("EndpointName") != target.name:
        raise UsageError(
            f"--component {target.component}: that inference component is on endpoint {component.get('EndpointName')}, not on {target.name}"
        )


def add_target_arguments(parser: Any, *, variant_purpose: str = "", action: str = "invoke") -> None:
    """The flags `connect` reads to find the endpoint: --endpoint-name or --stack, --variant,
    --engine, --app-name and --component (the smoke test's and the bench's alike).

    `variant_purpose` says what else the CLI does with the deployment's settings; `action` is what
    it does with the component."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--endpoint-name", help="endpoint to call")
    where.add_argument("--stack", help="endpoint stack whose EndpointName output to call")
    engines = "|".join(sorted(ENGINES))
    parser.add_argument(
        "--variant",
        metavar="NAME",
        help=f"the deployment's name in the app (a variants.<name> key){variant_purpose}; alone, picks the app's stack for it. "
        f"With --endpoint-name, an engine's name ({engines}) is taken as --engine, as before deployments had names",
    )
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        help="the engine whose request to send (default: the stack's ServingEngine output, else detected from the endpoint's image)",
    )
    parser.add_argument("--app-name", default="", help="with --variant alone: the app's app_name setting, if it has one")
    parser.add_argument(
        "--component",
        metavar="NAME",
        help=f"the inference component to {action} (default: the stack's InferenceComponentName output, else the endpoint's only one)",
    )


def connect(args: Any) -> tuple[Any, EndpointTarget]:
    """The AWS session of a CLI's --profile/--region and the endpoint its --endpoint-name, --stack,
    --variant, --engine and --app-name name (the smoke test's and the bench's common start)."""
    session = aws_session(args.profile, args.region)
    if session.region_name is None:
        raise UsageError("no AWS region (set AWS_REGION or use --region)")
    target = resolve_target(
        session,
        endpoint_name=args.endpoint_name,
        stack=args.stack,
        variant=args.variant,
        engine=args.engine,
        app_name=args.app_name,
        component=args.component,
    )
    return session, target


def resolve_target(
    session: Any,
    *,
    endpoint_name: str | None,
    stack: str | None,
    variant: str | None,
    engine: str | None = None,
    app_name: str = "",
    component: str | None = None,
) -> EndpointTarget:
    """The endpoint by name, or from a stack's outputs (the app's stack of deployment `variant` by
    default). The engine is `engine` if given; else, with an endpoint name, `variant` when it is an
    engine's name (the flags of the days when deployments were named by engine); else the stack's
    outputs'; else None (detect it from the image). The inference component is `component` if
    given, else the stack's `InferenceComponentName` output (`with_component` lists an endpoint's)."""
    if endpoint_name:
        return EndpointTarget(endpoint_name, variant, None, engine or (variant if variant in ENGINES else None), component)
    if stack is None:
        if variant is None:
            raise UsageError("give an endpoint name, a stack or a variant")
        stack = stack_for_deployment(variant, app_name)
    target = target_from_stack(session.client("cloudformation"), stack)
    return EndpointTarget(target.name, variant or target.variant, stack, engine or target.engine, component or target.component)
