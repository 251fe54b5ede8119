"""Edges through compute: workloads run as their roles, code execution in a workload, and
``iam:PassRole`` to a service that runs the caller's code as the passed role.

- ``runs-as``: a workload (an EC2 instance or launch template, a Lambda function, an ECS task
  definition, service or task, a Glue job or dev endpoint, a CloudFormation stack or StackSet, a
  CodeBuild project, a SageMaker notebook or job, an App Runner service, a Step Functions state
  machine, a Bedrock agent, an EKS service account) runs as each of its principals: a fact,
  WORKLOAD -> PRINCIPAL.
- **Code execution in an existing workload** (:data:`EXECS`): P -> WORKLOAD when every step is
  allowed or undecided (then the workload's runs-as edge leads to its roles): SSM ``SendCommand``
  (on the instance and the shell document) or ``StartSession``, user data rewritten
  (``ModifyInstanceAttribute`` + ``StopInstances`` + ``StartInstances``), EC2 Instance Connect;
  Lambda ``UpdateFunctionCode`` or ``UpdateFunctionConfiguration`` (a layer); ECS Exec (only where
  the task or service has it enabled); ``RunTask`` of an existing task definition (with
  ``iam:PassRole`` of its roles, which ECS asks for); CodeBuild ``StartBuild`` (buildspec override)
  and ``StartBuildBatch``; Glue ``UpdateDevEndpoint`` (an SSH key); CloudFormation ``UpdateStack``
  or ``CreateChangeSet`` + ``ExecuteChangeSet`` on a stack with a service role,
  ``UpdateStackSet``; SageMaker ``CreatePresignedNotebookInstanceUrl`` or a lifecycle
  configuration; App Runner ``UpdateService``; Step Functions ``UpdateStateMachine`` +
  ``StartExecution``; a launch template's new default version.
- **New PassRole** (:data:`LAUNCHES`): P -> ROLE when P may pass ROLE to a service
  (``iam:PassRole`` asked with that service's ``iam:PassedToService``), may make the service run
  code of P's choosing with it (every step of one recipe: ``lambda:CreateFunction`` +
  ``lambda:InvokeFunction``, ``ecs:RegisterTaskDefinition`` + ``ecs:RunTask``, ...), and ROLE's
  trust lets that service assume it (decided by the engine over the trust policy, the request
  made by the service principal). EC2 recipes also need an instance profile holding ROLE: one the
  snapshot names (a fact), or one P may create (``iam:CreateInstanceProfile`` +
  ``iam:AddRoleToInstanceProfile``), else the edge is unknown unless the snapshot says ROLE has
  none. A role can be passed only within its own account, so only principals of that account
  are asked.

Every step is one answer of the edge; a step proven denied means no edge, an undecided one an
unknown edge. Requests are asked with a free context (``allowed`` means for some context, which
the witness names; the edge's ``condition`` says what the caller must bring, such as MFA or a
source address). A step on the resource an earlier step created (invoking the created function)
is asked on that resource; allowed only on some other resource, it is unknown.

Speed (thousands of roles): the principals asked are those whose identity policies name every
action of a recipe (the engine's own who-can prefilter, computed once per policy); the roles
asked are those whose trust can name the service. Answers are cached, and a principal's answer
for a resource is shared by every resource that each statement naming the action treats alike
(same account, same region, and the reference matcher gives the same Resource match for every
such statement): the solver is asked once per principal and class, not per pair. Trust answers
are shared by roles with the same trust documents in the same account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from models import AttachmentKind, Cloud, Workload, WorkloadKind
from simulator.aws.action_classes import action_matches
from simulator.aws.arn_formats import format_matches
from simulator.aws.catalog import load_catalog
from simulator.aws.edge_support import live, workloads
from simulator.aws.engine import AwsEngine
from simulator.aws.policy import Statement
from simulator.aws.reference import ReferenceMatcher
from simulator.aws.request import Request, arn_account
from simulator.aws.values import Var
from simulator.core import Answer, Decision, Edge, Estate, Fact, Gap, Reason, ReasonKind, edge_from

PASSROLE = "iam:PassRole"
LAMBDA_SERVICE = "lambda.amazonaws.com"
EC2_SERVICE = "ec2.amazonaws.com"
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"
PASSROLE_LAMBDA = "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction"
PASSROLE_LAMBDA_ESM = "iam:PassRole+lambda:CreateFunction+lambda:CreateEventSourceMapping"
CREATE_PROFILE = ("iam:CreateInstanceProfile", "iam:AddRoleToInstanceProfile")

_KIND_LABELS = {
    WorkloadKind.EC2_INSTANCE: "EC2 instance",
    WorkloadKind.EC2_LAUNCH_TEMPLATE: "EC2 launch template",
    WorkloadKind.LAMBDA_FUNCTION: "Lambda function",
    WorkloadKind.ECS_TASK_DEFINITION: "ECS task definition",
    WorkloadKind.ECS_SERVICE: "ECS service",
    WorkloadKind.ECS_TASK: "ECS task",
    WorkloadKind.EKS_SERVICE_ACCOUNT: "EKS service account",
    WorkloadKind.GLUE_DEV_ENDPOINT: "Glue dev endpoint",
    WorkloadKind.GLUE_JOB: "Glue job",
    WorkloadKind.CLOUDFORMATION_STACK: "CloudFormation stack",
    WorkloadKind.CLOUDFORMATION_STACK_SET: "CloudFormation StackSet",
    WorkloadKind.CODEBUILD_PROJECT: "CodeBuild project",
    WorkloadKind.SAGEMAKER_NOTEBOOK: "SageMaker notebook instance",
    WorkloadKind.SAGEMAKER_JOB: "SageMaker job",
    WorkloadKind.APP_RUNNER_SERVICE: "App Runner service",
    WorkloadKind.STEP_FUNCTIONS_STATE_MACHINE: "Step Functions state machine",
    WorkloadKind.BEDROCK_AGENT: "Bedrock agent",
}


# --- the recipes ------------------------------------------------------------------------------------


class On(StrEnum):
    """What a step acts on: ``new``, a resource the caller creates (any name: asked on ``*``);
    ``created``, the resource the recipe's first step created; ``target``, the existing workload."""

    NEW = "new"
    CREATED = "created"
    TARGET = "target"


@dataclass(frozen=True)
class Step:
    """One request of a recipe: ``action`` on what ``on`` says, or on ``resource`` (a template
    with ``{region}`` and ``{account}``) when given. ``created_key``: a context key that carries the
    created resource's ARN (``lambda:FunctionArn`` for an event source mapping)."""

    action: str
    on: On = On.NEW
    resource: str | None = None
    created_key: str | None = None


def new(action: str, created_key: str | None = None) -> Step:
    return Step(action, On.NEW, created_key=created_key)


def created(action: str) -> Step:
    return Step(action, On.CREATED)


def target(action: str) -> Step:
    return Step(action, On.TARGET)


SHELL_DOCUMENT = Step("ssm:SendCommand", resource="arn:aws:ssm:{region}::document/AWS-RunShellScript")


@dataclass(frozen=True, kw_only=True)
class Launch:
    """``iam:PassRole`` to a service that runs the caller's code as the passed role.

    ``trusted``: the service principals the role's trust must admit (any one); ``passed_to``: the
    ``iam:PassedToService`` the pass carries; ``steps``: the requests that make the service run the
    code; ``profile``: the role reaches an EC2 instance through an instance profile; ``existing``:
    the steps act on an existing workload of this kind (``On.TARGET``), in the role's account."""

    trusted: tuple[str, ...]
    passed_to: str
    steps: tuple[Step, ...]
    profile: bool = False
    existing: WorkloadKind | None = None

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.action for s in self.steps))

    @property
    def mechanism(self) -> str:
        return "+".join((PASSROLE, *self.actions))


def _launch(
    trusted: str | tuple[str, ...],
    *steps: Step,
    passed_to: str | None = None,
    profile: bool = False,
    existing: WorkloadKind | None = None,
) -> Launch:
    services = (trusted,) if isinstance(trusted, str) else trusted
    return Launch(trusted=services, passed_to=passed_to or services[0], steps=steps, profile=profile, existing=existing)


#: New-PassRole recipes, by service; within a service the first proven recipe is the edge's.
LAUNCHES: tuple[Launch, ...] = (
    _launch(LAMBDA_SERVICE, new("lambda:CreateFunction"), created("lambda:InvokeFunction")),
    _launch(
        LAMBDA_SERVICE,
        new("lambda:CreateFunction"),
        new("lambda:CreateEventSourceMapping", created_key="lambda:FunctionArn"),
    ),
    _launch(LAMBDA_SERVICE, new("lambda:CreateFunction"), created("lambda:AddPermission")),
    _launch(
        LAMBDA_SERVICE,
        target("lambda:UpdateFunctionConfiguration"),
        target("lambda:UpdateFunctionCode"),
        existing=WorkloadKind.LAMBDA_FUNCTION,
    ),
    _launch(EC2_SERVICE, new("ec2:RunInstances"), profile=True),
    _launch(EC2_SERVICE, new("ec2:RequestSpotInstances"), profile=True),
    _launch(
        EC2_SERVICE,
        new("autoscaling:CreateLaunchConfiguration"),
        new("autoscaling:CreateAutoScalingGroup"),
        profile=True,
    ),
    *(
        _launch(EC2_SERVICE, target(associate), *run, existing=WorkloadKind.EC2_INSTANCE, profile=True)
        for run in ((target("ssm:SendCommand"), SHELL_DOCUMENT), (target("ssm:StartSession"),))
        for associate in ("ec2:AssociateIamInstanceProfile", "ec2:ReplaceIamInstanceProfileAssociation")
    ),
    _launch(ECS_TASKS_SERVICE, new("ecs:RegisterTaskDefinition"), created("ecs:RunTask")),
    _launch(ECS_TASKS_SERVICE, new("ecs:RegisterTaskDefinition"), created("ecs:StartTask")),
    _launch(ECS_TASKS_SERVICE, new("ecs:RegisterTaskDefinition"), new("ecs:CreateService")),
    _launch(ECS_TASKS_SERVICE, target("ecs:RunTask"), existing=WorkloadKind.ECS_TASK_DEFINITION),
    _launch(ECS_TASKS_SERVICE, target("ecs:StartTask"), existing=WorkloadKind.ECS_TASK_DEFINITION),
    _launch("cloudformation.amazonaws.com", new("cloudformation:CreateStack")),
    _launch(
        "cloudformation.amazonaws.com",
        new("cloudformation:CreateStackSet"),
        created("cloudformation:CreateStackInstances"),
    ),
    _launch(
        "cloudformation.amazonaws.com",
        target("cloudformation:UpdateStack"),
        existing=WorkloadKind.CLOUDFORMATION_STACK,
    ),
    _launch("codebuild.amazonaws.com", new("codebuild:CreateProject"), created("codebuild:StartBuild")),
    _launch("codebuild.amazonaws.com", new("codebuild:CreateProject"), created("codebuild:StartBuildBatch")),
    _launch(
        "codebuild.amazonaws.com",
        target("codebuild:UpdateProject"),
        target("codebuild:StartBuild"),
        existing=WorkloadKind.CODEBUILD_PROJECT,
    ),
    _launch("glue.amazonaws.com", new("glue:CreateDevEndpoint")),
    _launch("glue.amazonaws.com", new("glue:CreateJob"), created("glue:StartJobRun")),
    _launch("glue.amazonaws.com", new("glue:CreateJob"), new("glue:CreateTrigger")),
    _launch("glue.amazonaws.com", new("glue:CreateSession"), created("glue:RunStatement")),
    _launch("glue.amazonaws.com", target("glue:UpdateJob"), target("glue:StartJobRun"), existing=WorkloadKind.GLUE_JOB),
    _launch("glue.amazonaws.com", target("glue:UpdateJob"), new("glue:CreateTrigger"), existing=WorkloadKind.GLUE_JOB),
    _launch(
        "sagemaker.amazonaws.com",
        new("sagemaker:CreateNotebookInstance"),
        created("sagemaker:CreatePresignedNotebookInstanceUrl"),
    ),
    _launch("sagemaker.amazonaws.com", new("sagemaker:CreateTrainingJob")),
    _launch("sagemaker.amazonaws.com", new("sagemaker:CreateProcessingJob")),
    _launch(
        ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com"),
        new("datapipeline:CreatePipeline"),
        created("datapipeline:PutPipelineDefinition"),
        created("datapipeline:ActivatePipeline"),
        passed_to="datapipeline.amazonaws.com",
    ),
    _launch("tasks.apprunner.amazonaws.com", new("apprunner:CreateService"), passed_to="apprunner.amazonaws.com"),
    _launch(
        "tasks.apprunner.amazonaws.com",
        target("apprunner:UpdateService"),
        passed_to="apprunner.amazonaws.com",
        existing=WorkloadKind.APP_RUNNER_SERVICE,
    ),
    _launch("states.amazonaws.com", new("states:CreateStateMachine"), created("states:StartExecution")),
    _launch("ssm.amazonaws.com", new("ssm:CreateDocument"), new("ssm:StartAutomationExecution")),
    _launch(
        "bedrock-agentcore.amazonaws.com",
        new("bedrock-agentcore:CreateCodeInterpreter"),
        created("bedrock-agentcore:StartCodeInterpreterSession"),
        created("bedrock-agentcore:InvokeCodeInterpreter"),
    ),
)


@dataclass(frozen=True, kw_only=True)
class Exec:
    """Code of the caller's choosing run in an existing workload of one of ``kinds``.

    ``steps`` act on the workload (``On.TARGET``) unless they say otherwise; ``passes``: the steps
    pass the workload's own roles again, with this ``iam:PassedToService`` (``iam:PassRole`` on
    each is a step); ``requires``: (attribute, value) the workload must show; ``condition``: what
    must hold beyond the requests."""

    kinds: frozenset[WorkloadKind]
    steps: tuple[Step, ...]
    passes: str | None = None
    requires: tuple[str, str] | None = None
    condition: str | None = None

    @property
    def actions(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(((PASSROLE,) if self.passes else ()) + tuple(s.action for s in self.steps)))

    @property
    def mechanism(self) -> str:
        return "+".join(self.actions)


def _exec(
    kinds: WorkloadKind | tuple[WorkloadKind, ...],
    *steps: Step,
    passes: str | None = None,
    requires: tuple[str, str] | None = None,
    condition: str | None = None,
) -> Exec:
    kinds = (kinds,) if isinstance(kinds, WorkloadKind) else kinds
    return Exec(kinds=frozenset(kinds), steps=steps, passes=passes, requires=requires, condition=condition)


_K = WorkloadKind
#: Code execution in existing workloads; per workload and principal the first proven one is the edge's.
EXECS: tuple[Exec, ...] = (
    _exec(_K.EC2_INSTANCE, target("ssm:SendCommand"), SHELL_DOCUMENT),
    _exec(_K.EC2_INSTANCE, target("ssm:StartSession")),
    _exec(
        _K.EC2_INSTANCE,
        target("ec2:ModifyInstanceAttribute"),
        target("ec2:StopInstances"),
        target("ec2:StartInstances"),
    ),
    _exec(
        _K.EC2_INSTANCE,
        target("ec2-instance-connect:SendSSHPublicKey"),
        condition="only with network access to the instance's SSH port",
    ),
    _exec(_K.LAMBDA_FUNCTION, target("lambda:UpdateFunctionCode")),
    _exec(_K.LAMBDA_FUNCTION, target("lambda:UpdateFunctionConfiguration")),
    _exec(
        _K.ECS_TASK,
        target("ecs:ExecuteCommand"),
        Step("ecs:ExecuteCommand", resource="{cluster}"),
        requires=(
            "execute_command",
            "true",
        ),
    ),
    _exec(_K.ECS_SERVICE, Step("ecs:ExecuteCommand", resource="{cluster}"), requires=("execute_command", "true")),
    _exec(_K.ECS_TASK_DEFINITION, target("ecs:RunTask"), passes=ECS_TASKS_SERVICE),
    _exec(_K.ECS_TASK_DEFINITION, target("ecs:StartTask"), passes=ECS_TASKS_SERVICE),
    _exec(_K.CODEBUILD_PROJECT, target("codebuild:StartBuild")),
    _exec(_K.CODEBUILD_PROJECT, target("codebuild:StartBuildBatch")),
    _exec(_K.GLUE_DEV_ENDPOINT, target("glue:UpdateDevEndpoint")),
    _exec(_K.CLOUDFORMATION_STACK, target("cloudformation:UpdateStack")),
    _exec(_K.CLOUDFORMATION_STACK, target("cloudformation:CreateChangeSet"), target("cloudformation:ExecuteChangeSet")),
    _exec(_K.CLOUDFORMATION_STACK_SET, target("cloudformation:UpdateStackSet"), passes="cloudformation.amazonaws.com"),
    _exec(_K.SAGEMAKER_NOTEBOOK, target("sagemaker:CreatePresignedNotebookInstanceUrl")),
    _exec(
        _K.SAGEMAKER_NOTEBOOK,
        new("sagemaker:CreateNotebookInstanceLifecycleConfig"),
        target("sagemaker:StopNotebookInstance"),
        target("sagemaker:UpdateNotebookInstance"),
        target("sagemaker:StartNotebookInstance"),
    ),
    _exec(_K.APP_RUNNER_SERVICE, target("apprunner:UpdateService")),
    _exec(_K.STEP_FUNCTIONS_STATE_MACHINE, target("states:UpdateStateMachine"), target("states:StartExecution")),
    _exec(
        _K.EC2_LAUNCH_TEMPLATE,
        target("ec2:CreateLaunchTemplateVersion"),
        target("ec2:ModifyLaunchTemplate"),
        condition="only when an instance is next launched from the template",
    ),
)

#: Every action a recipe asks about (the principals' prefilter indexes them).
ACTIONS = tuple(
    dict.fromkeys(
        [PASSROLE, *CREATE_PROFILE, *(a for r in LAUNCHES for a in r.actions), *(a for x in EXECS for a in x.actions)]
    )
)


# --- runs-as ----------------------------------------------------------------------------------------


def runs_as_edges(estate: Estate) -> list[Edge]:
    """WORKLOAD -> PRINCIPAL for each principal a workload runs as (a snapshot fact)."""
    out: list[Edge] = []
    for w in workloads(estate):
        kind = _KIND_LABELS.get(w.kind, str(w.kind))
        where = f"snapshot workload {w.id} ({w.kind.value} {w.name!r} in {w.scope_id}"
        where += f", {w.region})" if w.region else ")"
        profile = w.attributes.get("instance_profile")
        for pid in w.principal_ids:
            what = f"{kind} {w.name} runs as {pid}" + (f" (instance profile {profile})" if profile else "")
            out.append(
                Edge(
                    source=w.id,
                    target=pid,
                    cloud=Cloud.AWS,
                    mechanism="runs-as",
                    facts=(Fact(what=what, source=where),),
                )
            )
    return out


# --- which principals could be allowed at all -------------------------------------------------------


def _engine(estate: Estate) -> AwsEngine | None:
    engine = estate.engine(Cloud.AWS)
    return engine if isinstance(engine, AwsEngine) else None


def _names_action(s: Statement, action: str) -> bool:
    """The statement's Action (or NotAction) covers ``action`` (lower-cased)."""
    if s.actions is not None:
        return any(action_matches(p, action) for p in s.actions)
    return s.not_actions is not None and not any(action_matches(p, action) for p in s.not_actions)


class _Reach:
    """For each snapshot principal, which of :data:`ACTIONS` an Allow statement of its identity
    policies (its own and its groups') could match. A principal without one is implicitly denied
    the action wherever no resource policy grants it — the engine's who-can prefilter, computed
    once per policy rather than per question. An unreadable policy could allow anything."""

    def __init__(self, estate: Estate) -> None:
        self.actions = frozenset(a.lower() for a in ACTIONS)
        self._by_service: dict[str, list[str]] = defaultdict(list)
        for a in self.actions:
            self._by_service[a.split(":", 1)[0]].append(a)
        self._policies: dict[str, frozenset[str]] = {}
        self._targets: dict[str, frozenset[str]] = {}
        self.may_allow: dict[str, frozenset[str]] = {}
        engine = _engine(estate)
        if engine is None:
            return
        for pid in engine.principals():
            p = engine.index.principals[pid]
            self.may_allow[pid] = frozenset().union(*(self._target(engine, t) for t in (pid, *p.member_of)))

    def _target(self, engine: AwsEngine, target_id: str) -> frozenset[str]:
        if target_id not in self._targets:
            gaps: list[Gap] = []
            docs = engine.index.documents(target_id, AttachmentKind.IDENTITY, gaps)
            found: frozenset[str] = self.actions if gaps else frozenset()
            for d in docs:
                if d.policy_id not in self._policies:
                    self._policies[d.policy_id] = self._allows(d.document.statements)
                found |= self._policies[d.policy_id]
            self._targets[target_id] = found
        return self._targets[target_id]

    def _allows(self, statements: Iterable[Statement]) -> frozenset[str]:
        found: set[str] = set()
        for s in statements:
            if s.effect != "Allow":
                continue
            if s.actions is None:
                found |= {a for a in self.actions if _names_action(s, a)}
                continue
            for pattern in s.actions:
                service = pattern.split(":", 1)[0]
                pool = self.actions if "*" in service or "?" in service else self._by_service.get(service, ())
                found |= {a for a in pool if action_matches(pattern, a)}
        return frozenset(found)

    def may(self, principal: str, actions: Iterable[str]) -> bool:
        held = self.may_allow.get(principal, frozenset())
        return all(a.lower() in held for a in actions)

    def who(self, actions: Iterable[str]) -> list[str]:
        wanted = tuple(actions)
        return [p for p in self.may_allow if self.may(p, wanted)]


# --- asking, once per principal and class of resources ---------------------------------------------


@dataclass(frozen=True)
class _Classes:
    """How a principal's documents see resources for one action: ``statements`` are those that name
    the action; two resources in one account and region that every one of them matches alike get
    the same answer (the engine reads the resource only there)."""

    statements: tuple[Statement, ...]
    request: Request

    def key(self, engine: AwsEngine, resource: str) -> tuple[object, ...]:
        matcher = ReferenceMatcher(replace(self.request, resource=resource))
        matches = tuple(matcher.resource(s) for s in self.statements)
        return (arn_account(resource), engine.index.region_of(resource), matches)


class _Asker:
    """The requests edges are made of, each asked once with a free context (allowed: for some
    context, the witness names it). A snapshot principal's answer about a concrete resource of a
    service without resource policies is shared within its class (:class:`_Classes`)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.engine = _engine(estate)
        self._answers: dict[tuple[object, ...], Answer] = {}
        self._classes: dict[tuple[object, ...], _Classes | None] = {}
        self._shared: dict[tuple[object, ...], Answer] = {}

    def can(self, principal: str, action: str, resource: str, context: dict[str, str] | None = None) -> Answer:
        given = tuple(sorted((context or {}).items()))
        key = (principal, action, resource, given)
        if key not in self._answers:
            self._answers[key] = self._ask(principal, action, resource, given)
        return self._answers[key]

    def remember(self, answer: Answer) -> None:
        """Keep an answer the engine gave elsewhere (a who-can) for its principal."""
        ask = answer.ask
        given = tuple(sorted((k, v[0]) for k, v in ask.context.items() if len(v) == 1))
        self._answers.setdefault((answer.principal, ask.action, ask.resource, given), answer)

    def _ask(self, principal: str, action: str, resource: str, given: tuple[tuple[str, str], ...]) -> Answer:
        estate = self.estate
        ask = estate.ask(principal, action, resource, context=dict(given) or None, free_context=True)
        classes = self._class_of(principal, action, given, resource)
        if classes is None or self.engine is None:
            return estate.can(ask)
        shared_key = (principal, action, given, classes.key(self.engine, resource))
        first = self._shared.get(shared_key)
        if first is None:
            first = self._shared[shared_key] = estate.can(ask)
            return first
        return first.said_of(resource, ask)

    def _class_of(
        self, principal: str, action: str, given: tuple[tuple[str, str], ...], resource: str
    ) -> _Classes | None:
        engine = self.engine
        if (
            engine is None
            or resource == "*"
            or principal not in engine.index.principals
            or engine._policies_matter(action)
            or action.lower().startswith("sts:")
        ):
            return None
        key = (principal, action, given)
        if key not in self._classes:
            ask = self.estate.ask(principal, action, resource, context=dict(given) or None, free_context=True)
            plan = engine.plan(ask, principal)
            lowered = action.lower()
            statements = tuple(
                s for d in plan.case.policies.documents() for s in d.statements if _names_action(s, lowered)
            )
            variable = any(
                isinstance(part, Var)
                for s in statements
                for p in (*(s.resources or ()), *(s.not_resources or ()))
                for part in p
            )
            self._classes[key] = None if variable else _Classes(statements=statements, request=plan.case.request)
        return self._classes[key]


def _unknown(estate: Estate, principal: str, action: str, resource: str, detail: str) -> Answer:
    """An undecided step whose question the snapshot cannot answer (no request decides it)."""
    ask = estate.ask(principal, action, resource, free_context=True)
    reason = Reason(kind=ReasonKind.COVERAGE, detail=detail)
    return Answer(ask=ask, principal=principal, decision=Decision.UNKNOWN, reasons=(reason,))


# --- trust: may the service assume the role ---------------------------------------------------------


def _trust_services(engine: AwsEngine, role: str, gaps: list[Gap]) -> tuple[frozenset[str], bool]:
    """(the services the role's trust names in an Allow statement, whether it admits any service:
    ``*``, NotPrincipal, or an unreadable document)."""
    docs = engine.index.documents(role, AttachmentKind.TRUST, gaps, "trust")
    named: set[str] = set()
    anyone = bool(gaps)
    for d in docs:
        for s in d.document.statements:
            if s.effect != "Allow":
                continue
            if s.not_principal is not None or (s.principal is not None and s.principal.everyone):
                anyone = True
            elif s.principal is not None:
                named |= {x.lower() for x in s.principal.service}
    return frozenset(named), anyone


def service_trust(estate: Estate, role: str, service: str) -> Answer | None:
    """Whether ``service`` (a service principal) may assume ``role``, decided by the engine over the
    role's trust policy with a free context (allowed: for some values, which the witness names).
    None when no Allow statement of the trust can name the service, or the engine proves it denied."""
    from simulator.aws import external

    engine = _engine(estate)
    ask = estate.ask(service, "sts:AssumeRole", role, free_context=True)
    if engine is None:
        reason = Reason(kind=ReasonKind.ENGINE, detail="the AWS engine is not iamdrift's: a service principal's trust")
        return Answer(ask=ask, principal=service, decision=Decision.UNKNOWN, reasons=(reason,))
    gaps: list[Gap] = []
    named, anyone = _trust_services(engine, role, gaps)
    if not anyone and service.lower() not in named:
        return None
    plan = external._plan(
        engine,
        ask,
        principal_arn=service,
        identity=(),
        context={"aws:principalisawsservice": ("true",), "aws:principalservicename": (service,)},
        free_prefix=None,
        notes=[],
    )
    answer = external._settle(engine, ask, service, plan)
    return None if answer.decision.denied else answer


def lambda_trust(estate: Estate, role: str) -> Answer | None:
    """:func:`service_trust` for ``lambda.amazonaws.com``."""
    return service_trust(estate, role, LAMBDA_SERVICE)


class _Trusts:
    """Trust answers per (role, service), shared by roles whose trust documents are the same
    (same digests, same account: the trust decision reads nothing else of the role)."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.engine = _engine(estate)
        self._admits: dict[str, tuple[frozenset[str], bool]] = {}
        self._answers: dict[tuple[object, ...], Answer | None] = {}

    def may_admit(self, role: str, services: Iterable[str]) -> bool:
        if self.engine is None:
            return True
        if role not in self._admits:
            self._admits[role] = _trust_services(self.engine, role, [])
        named, anyone = self._admits[role]
        return anyone or any(s.lower() in named for s in services)

    def answer(self, role: str, services: Sequence[str]) -> Answer | None:
        """The first of ``services`` the trust lets assume ``role`` (None: none may)."""
        for service in services:
            if not self.may_admit(role, (service,)):
                continue
            answer = self._one(role, service)
            if answer is not None:
                return answer
        return None

    def _one(self, role: str, service: str) -> Answer | None:
        key = self._key(role, service)
        if key in self._answers:
            first = self._answers[key]
            if first is None:
                return None
            return first.said_of(role, self.estate.ask(service, "sts:AssumeRole", role, free_context=True))
        self._answers[key] = answer = service_trust(self.estate, role, service)
        return answer

    def _key(self, role: str, service: str) -> tuple[object, ...]:
        engine = self.engine
        if engine is None:
            return (role, service)
        gaps: list[Gap] = []
        docs = engine.index.documents(role, AttachmentKind.TRUST, gaps, "trust")
        if (
            gaps
            or not docs
            or any(s.resources is not None or s.not_resources is not None for d in docs for s in d.document.statements)
        ):
            return (role, service)
        digests = tuple(sorted(d.digest or role for d in docs))
        return (service, arn_account(role), digests)


# --- new PassRole -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """A recipe's steps answered for one principal (and the workload they act on, if any)."""

    recipe: Launch | Exec
    answers: tuple[Answer, ...]
    target: Workload | None = None

    @property
    def proven(self) -> bool:
        return all(a.decision is Decision.ALLOWED for a in self.answers)


class _Context:
    """What one call shares: the prefilter, the cached answers, the trusts, the workloads."""

    def __init__(self, estate: Estate) -> None:
        self.estate = estate
        self.engine = _engine(estate)
        self.reach = _Reach(estate)
        self.asker = _Asker(estate)
        self.trusts = _Trusts(estate)
        self.workloads = workloads(estate)
        self._by_kind: dict[tuple[WorkloadKind, str | None], list[Workload]] = defaultdict(list)
        for w in self.workloads:
            self._by_kind[(w.kind, w.scope_id)].append(w)
        self._best: dict[tuple[object, ...], _Run | None] = {}

    def account_of(self, principal: str) -> str | None:
        if self.engine is not None and principal in self.engine.index.principals:
            return self.engine.index.principals[principal].scope_id
        return arn_account(principal)

    def of_kind(self, kind: WorkloadKind, account: str | None) -> list[Workload]:
        return self._by_kind.get((kind, account), [])

    # -- one step --

    def step(self, principal: str, step: Step, made: str | None, on: Workload | None) -> Answer:
        """The answer for ``step``; ``made``: the resource the recipe's first step created."""
        ask = self.asker.can
        if step.resource is not None:
            return ask(principal, step.action, _fill(step.resource, on))
        if step.on is On.TARGET and on is not None:
            return ask(principal, step.action, on.id)
        if step.on is On.CREATED and made is not None and _takes(step.action, made):
            concrete = ask(principal, step.action, made)
            if not concrete.decision.denied:
                return concrete
            anywhere = ask(principal, step.action, "*")
            if anywhere.decision is Decision.ALLOWED:
                shown = anywhere.witness.resource if anywhere.witness else "another resource"
                detail = f"{step.action} is allowed on {shown}, not shown for the created {made}"
                return anywhere.unknown([Reason(kind=ReasonKind.UNPROVEN, detail=detail)])
            return anywhere
        context = {step.created_key: made} if step.created_key and made else None
        return ask(principal, step.action, "*", context)

    def run(self, principal: str, recipe: Launch | Exec, account: str | None, on: Workload | None) -> _Run | None:
        """The recipe's steps for ``principal`` (None when one is proven denied)."""
        answers: list[Answer] = []
        made: str | None = None
        for i, step in enumerate(recipe.steps):
            answer = self.step(principal, step, made, on)
            if answer.decision.denied:
                return None
            if i == 0 and step.on is On.NEW:
                made = answer.witness.resource if answer.witness is not None else None
                outside = made is not None and arn_account(made) not in (None, account)
                if outside:
                    detail = f"{step.action} is shown allowed only for {made}, outside account {account}"
                    answer = answer.unknown([Reason(kind=ReasonKind.UNPROVEN, detail=detail)])
                    made = None
            answers.append(answer)
        return _Run(recipe=recipe, answers=tuple(answers), target=on)

    # -- the recipe a principal uses for a service --

    def best(self, principal: str, launches: Sequence[Launch], account: str | None) -> _Run | None:
        """The first recipe proven for ``principal``, else the first undecided one, else None."""
        key = (principal, tuple(id(x) for x in launches), account)
        if key not in self._best:
            self._best[key] = _first(self._runs(principal, launches, account))
        return self._best[key]

    def _runs(self, principal: str, launches: Sequence[Launch], account: str | None) -> Iterator[_Run]:
        for launch in launches:
            if not self.reach.may(principal, launch.actions):
                continue
            if launch.existing is None:
                found = self.run(principal, launch, account, None)
                if found is not None:
                    yield found
                continue
            first = launch.steps[0]
            if self.asker.can(principal, first.action, "*").decision.denied:
                continue
            yield from self._on_existing(principal, launch, account)

    def _on_existing(self, principal: str, launch: Launch, account: str | None) -> Iterator[_Run]:
        assert launch.existing is not None
        for w in self.of_kind(launch.existing, account):
            found = self.run(principal, launch, account, w)
            if found is not None:
                yield found
                if found.proven:
                    return


def _first(runs: Iterable[_Run]) -> _Run | None:
    undecided = None
    for r in runs:
        if r.proven:
            return r
        undecided = undecided or r
    return undecided


def _fill(template: str, on: Workload | None) -> str:
    region = (on.region if on is not None else None) or "us-east-1"
    account = on.scope_id if on is not None else ""
    cluster = on.attributes.get("cluster", "") if on is not None else ""
    return template.format(region=region, account=account, cluster=cluster)


def _takes(action: str, resource: str) -> bool:
    """``action`` takes a resource of ``resource``'s type (service authorization reference)."""
    info = load_catalog().action(action)
    return info is not None and any(format_matches(f, resource) for f in info.formats)


def _services() -> list[tuple[tuple[str, ...], str, list[Launch]]]:
    """The launches grouped by (trusted services, passed-to service), in :data:`LAUNCHES` order."""
    groups: dict[tuple[tuple[str, ...], str], list[Launch]] = {}
    for launch in LAUNCHES:
        groups.setdefault((launch.trusted, launch.passed_to), []).append(launch)
    return [(trusted, passed, launches) for (trusted, passed), launches in groups.items()]


def passrole_edges(estate: Estate, roles: Iterable[str]) -> list[Edge]:
    """P -> ROLE by ``iam:PassRole`` to a service that runs P's code as ROLE (:data:`LAUNCHES`)."""
    return _passrole_edges(_Context(estate), list(roles))


def _passrole_edges(ctx: _Context, roles: list[str]) -> list[Edge]:
    out: list[Edge] = []
    passers = ctx.reach.who((PASSROLE,))
    for trusted, passed_to, launches in _services():
        candidates = [r for r in roles if ctx.trusts.may_admit(r, trusted)]
        if not candidates:
            continue
        by_account: dict[str | None, list[str]] = defaultdict(list)
        for r in candidates:
            by_account[arn_account(r)].append(r)
        for principal in passers:
            if not any(ctx.reach.may(principal, launch.actions) for launch in launches):
                continue
            account = ctx.account_of(principal)
            same = [r for r in by_account.get(account, []) if r != principal]
            if not same:
                continue
            run = ctx.best(principal, launches, account)
            if run is None:
                continue
            for role in same:
                edge = _passrole_edge(ctx, principal, role, run, trusted, passed_to)
                if edge is not None:
                    out.append(edge)
    return out


def _passrole_edge(
    ctx: _Context, principal: str, role: str, run: _Run, trusted: tuple[str, ...], passed_to: str
) -> Edge | None:
    passed = ctx.asker.can(principal, PASSROLE, role, {"iam:PassedToService": passed_to})
    if passed.decision.denied:
        return None
    trust = ctx.trusts.answer(role, trusted)
    if trust is None:
        return None
    assert isinstance(run.recipe, Launch)
    mechanism = run.recipe.mechanism
    before: tuple[Answer, ...] = ()
    facts: tuple[Fact, ...] = ()
    if run.recipe.profile:
        profile = _profile(ctx, principal, role)
        if profile is None:
            return None
        before, facts = profile
        if before and before[0].ask.action == CREATE_PROFILE[0]:
            mechanism = "+".join((*CREATE_PROFILE, mechanism))
    answers = [*before, passed, *run.answers, trust]
    if run.target is not None:
        facts += (_target_fact(run.target),)
    return edge_from(principal, role, Cloud.AWS, mechanism, answers, facts=facts, condition=_condition(ctx, answers))


def _target_fact(w: Workload) -> Fact:
    kind = _KIND_LABELS.get(w.kind, str(w.kind))
    return Fact(what=f"the steps act on the existing {kind} {w.name}", source=f"snapshot workload {w.id}")


# --- instance profiles ------------------------------------------------------------------------------


def _profile(ctx: _Context, principal: str, role: str) -> tuple[tuple[Answer, ...], tuple[Fact, ...]] | None:
    """How ``role`` reaches an instance: a profile the snapshot names (a fact), one ``principal``
    may create (two answers), an undecided step when the snapshot does not say; None when the
    snapshot says the role is in no profile and ``principal`` cannot create one."""
    holding, said = _profiles_of(ctx, role)
    if holding:
        arn, source = holding[0]
        return (), (Fact(what=f"instance profile {arn} holds {role}", source=source),)
    make = ctx.asker.can(principal, CREATE_PROFILE[0], "*")
    add = ctx.asker.can(principal, CREATE_PROFILE[1], "*")
    if not make.decision.denied and not add.decision.denied:
        return (make, add), ()
    if said:
        return None
    detail = (
        f"whether {role} is in an instance profile is not in the snapshot (the authorization details list "
        "each role's instance profiles), and the caller cannot create one"
    )
    return (_unknown(ctx.estate, principal, "iam:ListInstanceProfilesForRole", role, detail),), ()


def _profiles_of(ctx: _Context, role: str) -> tuple[list[tuple[str, str]], bool]:
    """([(instance profile ARN, where the snapshot says it holds ``role``)], whether the snapshot
    lists the role's profiles: the role's ``instance_profiles`` attribute, comma-separated)."""
    found: list[tuple[str, str]] = []
    said = False
    if ctx.engine is not None and role in ctx.engine.index.principals:
        listed = ctx.engine.index.principals[role].attributes.get("instance_profiles")
        if listed is not None:
            said = True
            found += [(p, f"snapshot role {role} (instance profiles)") for p in listed.split(",") if p]
    for w in ctx.workloads:
        profiles = [p for p in w.attributes.get("instance_profile", "").split(",") if p]
        if len(profiles) == 1 and role in w.principal_ids:
            found.append((profiles[0], f"snapshot workload {w.id} ({w.kind.value} {w.name!r})"))
    return found, said


# --- code execution in existing workloads -----------------------------------------------------------


def update_code_edges(estate: Estate) -> list[Edge]:
    """Every code-execution edge into an existing workload (:func:`workload_edges`); the name the
    facade calls."""
    return workload_edges(estate)


def workload_edges(estate: Estate) -> list[Edge]:
    """P -> WORKLOAD where P can run code of its choosing in the workload (:data:`EXECS`)."""
    return _workload_edges(_Context(estate))


def _workload_edges(ctx: _Context) -> list[Edge]:
    out: list[Edge] = []
    for w in ctx.workloads:
        execs = [x for x in EXECS if w.kind in x.kinds and (w.kind is not _K.CLOUDFORMATION_STACK or w.principal_ids)]
        runs: dict[str, list[_Run]] = defaultdict(list)
        for x in execs:
            required = _required(ctx, w, x)
            if required is False:
                continue
            for principal in _candidates(ctx, w, x):
                run = _exec_run(ctx, principal, w, x)
                if run is not None:
                    extra = (required(principal),) if callable(required) else ()
                    runs[principal].append(replace(run, answers=run.answers + extra))
        for principal, found in runs.items():
            best = _first(found)
            if best is None:
                continue
            assert isinstance(best.recipe, Exec)
            condition = _condition(ctx, best.answers, best.recipe.condition)
            edge = edge_from(principal, w.id, Cloud.AWS, best.recipe.mechanism, best.answers, condition=condition)
            if edge is not None:
                out.append(edge)
    return out


def _required(ctx: _Context, w: Workload, x: Exec) -> bool | Callable[[str], Answer]:
    """True when the workload shows what ``x`` requires, False when it shows otherwise, and a
    maker of an undecided step when the snapshot does not say."""
    if x.requires is None:
        return True
    attribute, value = x.requires
    shown = w.attributes.get(attribute)
    if shown is not None:
        return shown.lower() == value

    def undecided(principal: str) -> Answer:
        detail = f"whether {w.id} has {attribute} {value} is not in the snapshot"
        return _unknown(ctx.estate, principal, x.steps[0].action, w.id, detail)

    return undecided


def _candidates(ctx: _Context, w: Workload, x: Exec) -> list[str]:
    """Principals whose identity policies name every action of ``x``; for a step whose resource
    carries a policy that could grant it (a Lambda function policy), those the engine's who-can
    lists too (principals outside the snapshot included)."""
    found = dict.fromkeys(ctx.reach.who(x.actions))
    engine = ctx.engine
    if engine is None:
        return list(found)
    for step in x.steps:
        if step.on is not On.TARGET or not engine._policies_matter(step.action):
            continue
        if not engine._resource_may_allow(step.action, w.id):
            continue
        estate = ctx.estate
        for answer in live(estate.who_can(estate.ask(None, step.action, w.id, free_context=True))):
            ctx.asker.remember(answer)
            found.setdefault(answer.principal)
    return list(found)


def _exec_run(ctx: _Context, principal: str, w: Workload, x: Exec) -> _Run | None:
    passes: list[Answer] = []
    if x.passes is not None:
        for role in w.principal_ids:
            answer = ctx.asker.can(principal, PASSROLE, role, {"iam:PassedToService": x.passes})
            if answer.decision.denied:
                return None
            passes.append(answer)
    run = ctx.run(principal, x, w.scope_id, w)
    if run is None:
        return None
    return replace(run, answers=(*passes, *run.answers))


# --- all of it at once ------------------------------------------------------------------------------


def compute_edges(estate: Estate, roles: Iterable[str]) -> list[Edge]:
    """Runs-as, code execution in workloads and new-PassRole edges, sharing one cache (the same
    edges as the three functions called one by one)."""
    ctx = _Context(estate)
    return [*runs_as_edges(estate), *_workload_edges(ctx), *_passrole_edges(ctx, list(roles))]


# --- conditions -------------------------------------------------------------------------------------

#: Keys AWS sets from the principal, the resource and the request itself: never a condition the
#: caller has to meet.
_SET_BY_AWS = (
    "aws:principal",
    "aws:userid",
    "aws:username",
    "aws:resourceaccount",
    "aws:requestedregion",
    "aws:currenttime",
    "aws:epochtime",
    "aws:securetransport",
    "aws:tokenissuetime",
)


def _condition(ctx: _Context, answers: Sequence[Answer], fixed: str | None = None) -> str | None:
    """What the witnesses needed beyond what AWS sets and the edge fixed ("only with MFA", "only
    from 10.0.0.0/8"), with ``fixed`` (the mechanism's own condition) first; None when nothing."""
    parts: list[str] = [fixed.removeprefix("only ")] if fixed else []
    for answer in answers:
        if answer.witness is None:
            continue
        given = {k.lower() for k in answer.ask.context}
        for key, values in sorted(answer.witness.context.items()):
            if key in given or key.startswith(_SET_BY_AWS) or not values:
                continue
            parts.append(_phrase(ctx, answer, key, values))
    parts = list(dict.fromkeys(parts))
    return "only " + ", ".join(parts) if parts else None


def _phrase(ctx: _Context, answer: Answer, key: str, values: Sequence[str]) -> str:
    if key == "aws:multifactorauthpresent" and values[0] == "true":
        return "with MFA"
    written = _written(ctx, answer, key)
    if key == "aws:sourceip":
        return "from " + " or ".join(written or values)
    if written:
        return f"with {key} " + " or ".join(written)
    return f"with {key}={','.join(values)}"


def _written(ctx: _Context, answer: Answer, key: str) -> list[str]:
    """The values the Allow statements that decided ``answer`` test ``key`` against (not negated)."""
    engine = ctx.engine
    if engine is None:
        return []
    out: list[str] = []
    for r in answer.reasons:
        if r.kind is not ReasonKind.STATEMENT or r.effect != "Allow" or r.policy is None or r.statement is None:
            continue
        applied = engine.index.document(r.policy, "identity", [], "identity")
        if applied is None or r.statement >= len(applied.document.statements):
            continue
        for c in applied.document.statements[r.statement].conditions:
            if c.key == key and not c.negated:
                out += list(c.values)
    return list(dict.fromkeys(out))


__all__ = [
    "ACTIONS",
    "EXECS",
    "LAMBDA_SERVICE",
    "LAUNCHES",
    "PASSROLE_LAMBDA",
    "PASSROLE_LAMBDA_ESM",
    "Exec",
    "Launch",
    "On",
    "Step",
    "compute_edges",
    "lambda_trust",
    "passrole_edges",
    "runs_as_edges",
    "service_trust",
    "update_code_edges",
    "workload_edges",
]
