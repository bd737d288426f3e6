"""Alarms and a dashboard for one endpoint variant (the alarms also serve deployment rollback)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from blueprint.config.settings import AlarmSettings

INVOCATION_NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"


class EndpointMonitoring(Construct):
    """5XX, 4XX, p90 model latency, GPU memory and disk alarms to an SNS topic, and a dashboard.

    `alarms` lists them all; `rollback_alarms` the ones a deployment guardrail rolls back on
    (5XX errors and latency: what a bad new model or container shows).
    """

    def __init__(self, scope: Construct, id: str, *, endpoint_name: str, variant_name: str, gpus: int, settings: AlarmSettings) -> None:
        super().__init__(scope, id)
        self._dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}
        self._period = cdk.Duration.seconds(settings.period_in_seconds)
        # The key of a topic created here (a given topic's key is not known at synth).
        self.topic_key: kms.IKey | None = None
        if settings.topic_arn:
            self.topic = sns.Topic.from_topic_arn(self, "Topic", settings.topic_arn)
        else:
            self.topic = _alarm_topic(self, variant_name)
            self.topic_key = self.topic.master_key

        def invocation(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=INVOCATION_NAMESPACE, metric_name=name, dimensions_map=self._dimensions, statistic=statistic, period=self._period
            )

        def instance(name: str, statistic: str = "Maximum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=INSTANCE_NAMESPACE, metric_name=name, dimensions_map=self._dimensions, statistic=statistic, period=self._period
            )

        errors_5xx = invocation("Invocation5XXErrors", "Sum")
        errors_4xx = invocation("Invocation4XXErrors", "Sum")
        # ModelLatency is reported in microseconds.
        latency_p90_ms = cloudwatch.MathExpression(
            expression="latency / 1000",
            using_metrics={"latency": invocation("ModelLatency", "p90")},
            label="ModelLatency p90 (ms)",
            period=self._period,
        )
        gpu_memory = instance("GPUMemoryUtilization")
        disk = instance("DiskUtilization")
        self.rollback_alarms = [
            self._alarm("Errors5xx", errors_5xx, settings.invocation_5xx_errors, settings, "server errors (5XX) from the model container"),
            self._alarm("ModelLatencyP90", latency_p90_ms, settings.model_latency_p90_ms, settings, "p90 model latency (ms)"),
        ]
        self.alarms = [
            *self.rollback_alarms,
            self._alarm("Errors4xx", errors_4xx, settings.invocation_4xx_errors, settings, "rejected requests (4XX)"),
            # SageMaker sums GPU memory utilization over the instance's GPUs (0..100 x GPUs).
            self._alarm(
                "GpuMemory", gpu_memory, settings.gpu_memory_utilization_percent * gpus, settings, f"GPU memory (% summed over {gpus} GPUs)"
            ),
            self._alarm("Disk", disk, settings.disk_utilization_percent, settings, "disk utilization (%)"),
        ]

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=cdk.Duration.hours(3))
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations and errors", left=[invocation("Invocations", "Sum"), errors_4xx, errors_5xx], width=12
            ),
            cloudwatch.GraphWidget(
                title="Model latency (ms)",
                left=[
                    cloudwatch.MathExpression(
                        expression=f"latency_{stat} / 1000",
                        using_metrics={f"latency_{stat}": invocation("ModelLatency", stat)},
                        label=stat,
                        period=self._period,
                    )
                    for stat in ("p50", "p90", "p99")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title=f"GPU utilization and memory (% summed over {gpus} GPUs)",
                left=[instance("GPUUtilization", "Average"), gpu_memory],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="CPU, memory, disk (%)", left=[instance("CPUUtilization", "Average"), instance("MemoryUtilization"), disk], width=12
            ),
            cloudwatch.GraphWidget(
                title="Instances (sample count of CPUUtilization per minute)",
                left=[instance("CPUUtilization", "SampleCount").with_(period=cdk.Duration.minutes(1))],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=12),
        )

    def _alarm(self, id: str, metric: cloudwatch.IMetric, threshold: float, settings: AlarmSettings, what: str) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=settings.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            # No traffic is not a failure of the endpoint.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{what} above {threshold:g} for {settings.evaluation_periods} x {settings.period_in_seconds} s",
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        return alarm


def _alarm_topic(scope: Construct, variant_name: str) -> sns.Topic:
    """An encrypted topic CloudWatch alarms can publish to (docs/aws-contract.md, "Alarm topic").

    CloudWatch needs a customer managed key whose policy lets it use the key (the AWS managed
    `alias/aws/sns` key cannot allow it) and an Allow in the topic policy, both limited to this
    account's alarms.
    """
    stack = cdk.Stack.of(scope)
    from_alarms = {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"},
    }
    cloudwatch_service = iam.ServicePrincipal("cloudwatch.amazonaws.com")
    key = kms.Key(
        scope,
        "TopicKey",
        description=f"Encrypts the alarm topic of an LLM endpoint ({variant_name})",
        enable_key_rotation=True,
        # Nothing stays encrypted under it once the topic is gone: delete it with the stack.
        removal_policy=cdk.RemovalPolicy.DESTROY,
        pending_window=cdk.Duration.days(7),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToUseTheKey",
            principals=[cloudwatch_service],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" is this key
            conditions=from_alarms,
        )
    )
    topic = sns.Topic(scope, "Topic", display_name=f"LLM endpoint alarms ({variant_name})", enforce_ssl=True, master_key=key)
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchAlarmsToPublish",
            principals=[cloudwatch_service],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=from_alarms,
        )
    )
    return topic
