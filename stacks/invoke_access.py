"""Invoke access granted by configuration: a role the listed principals may assume, allowed only
to invoke one endpoint (and its inference component)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.llm_endpoint import INVOKE_ACTIONS


class InvokeAccess(Construct):
    """Role assumable by `principals` (role ARNs, or account ids: their admins then decide who in that
    account may assume it), with a customer-managed policy for the invoke actions on `resource_arns`."""

    def __init__(self, scope: Construct, id: str, *, principals: list[str], resource_arns: list[str], what: str) -> None:
        super().__init__(scope, id)
        trusted = [iam.AccountPrincipal(p) if p.isdigit() else iam.ArnPrincipal(p) for p in principals]
        self.role = iam.Role(self, "Role", assumed_by=iam.CompositePrincipal(*trusted), description=f"May only invoke {what}")
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            description=f"Invoke {what}, streamed or not",
            statements=[iam.PolicyStatement(sid="InvokeTheEndpoint", actions=INVOKE_ACTIONS, resources=resource_arns)],
        )
        # A stack output (its id at the stack's level): what the principals are told to assume.
        cdk.CfnOutput(cdk.Stack.of(self), "InvokeRoleArn", value=self.role.role_arn, description=f"Assume it to invoke {what}")
