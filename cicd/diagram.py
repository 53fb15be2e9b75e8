"""`nox -s diagram`: a Mermaid flowchart and an overview of each region's pipeline, from the synth output.

Reads `cdktf.out/stacks/<region>/cdk.tf.json` only (never imports cdktf: it takes well under a
second). The flowchart shows the pipeline's stages in order, the actions of a stage side by side
where they share a run order and row after row where they do not (so production's manual approval
comes before its deploy actions), and for every CodeDeploy-to-ECS action its deployment group, its
blue/green target groups and the alarms that roll it back. The overview tabulates the stages' IAM
roles, the services per stage (CPU, memory, endpoint) and the resource counts.

Terraform references (`${aws_x.name.attr}`) are resolved to the literal they point at when the
referenced resource has one, else to that resource's name. Nothing that changes from one synth to
the next (deployment id, asset hashes, timestamps) is shown, so the output can be compared: the
README's us-east-1 section is this output (`--update-readme` writes it, `--check-readme` and a
test compare it).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from cicd.config import ROOT, load_all
from cicd.errors import UserError, run_cli

DEFAULT_OUT = Path(os.environ.get("CDKTF_OUTDIR", ROOT / "cdktf.out"))
README = ROOT / "README.md"
README_REGION = "us-east-1"
START = f"<!-- diagram:{README_REGION}:start -->"
END = f"<!-- diagram:{README_REGION}:end -->"
OUT_OF_DATE = "README diagram is out of date: run nox -s diagram -- --update-readme"
SYNTH_HINT = "run nox -s synth"

# ${aws_type.name.attr} or ${data.aws_type.name.attr}; attr may continue (e.g. `.0.id`).
_REF = re.compile(r"\$\{(data\.)?([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_.\[\]]+)\}")
# Attributes that name a resource, tried in this order when a reference's own attribute has no literal.
_NAME_ATTRS = ("name", "deployment_group_name", "alarm_name", "repository_name", "function_name", "bucket",
               "family")
_ATTR_LABELS = {"dns_name": "DNS", "arn": "ARN", "id": "ID", "repository_url": "URL"}


# --- reading the synthesized JSON ---------------------------------------------------------------

@dataclass(frozen=True)
class Ref:
    data: bool
    type: str
    name: str
    attr: str


def parse_ref(value: Any) -> Optional[Ref]:
    """The reference `value` is, if it is exactly one `${...}` reference (else None)."""
    match = _REF.fullmatch(value) if isinstance(value, str) else None
    if not match:
        return None
    data, rtype, name, attr = match.groups()
    return Ref(bool(data), rtype, name, attr)


def _is_literal(value: Any) -> bool:
    return isinstance(value, (int, float, bool)) or (isinstance(value, str) and "${" not in value)


class Doc:
    """One region's synthesized configuration, with lookups that follow Terraform references."""

    def __init__(self, region: str, doc: Dict[str, Any]):
        self.region = region
        self.doc = doc

    def resources(self, rtype: str) -> Dict[str, Dict[str, Any]]:
        return self.doc.get("resource", {}).get(rtype, {}) or {}

    def body(self, ref: Ref) -> Optional[Dict[str, Any]]:
        section = self.doc.get("data" if ref.data else "resource", {}) or {}
        return (section.get(ref.type) or {}).get(ref.name)

    def literal(self, value: Any, depth: int = 0) -> Optional[Any]:
        """`value` if literal; the literal a reference points at (followed a few levels); else None."""
        if _is_literal(value):
            return value
        ref = parse_ref(value)
        body = self.body(ref) if ref else None
        if body is None or depth > 5:
            return None
        return self.literal(body.get(ref.attr), depth + 1)

    def name(self, value: Any) -> str:
        """A value as a person reads it: its literal if it has one, else the referenced resource's name."""
        resolved = self.literal(value)
        if resolved is not None:
            return str(resolved)
        ref = parse_ref(value)
        if ref is None:  # a string with references inside it
            return self.expand(str(value)) if isinstance(value, str) else str(value)
        return self._resource_name(ref)

    def _resource_name(self, ref: Ref) -> str:
        body = self.body(ref) or {}
        for attr in _NAME_ATTRS:
            resolved = self.literal(body.get(attr))
            if resolved is not None:
                return str(resolved)
        return f"{'data.' if ref.data else ''}{ref.type}.{ref.name}"

    def expand(self, text: str) -> str:
        """Every reference inside `text` resolved: a literal, else `<name ATTR>` (e.g. `<shop-stg-use1 DNS>`)."""
        def one(match: "re.Match[str]") -> str:
            resolved = self.literal(match.group(0))
            if resolved is not None:
                return str(resolved)
            ref = parse_ref(match.group(0))
            return f"<{self._resource_name(ref)} {_ATTR_LABELS.get(ref.attr, ref.attr)}>"
        return _REF.sub(one, text)

    def target(self, value: Any, rtype: str, by: str = "name") -> Optional[Dict[str, Any]]:
        """The `rtype` resource `value` references, or (a literal) whose attribute `by` equals it."""
        ref = parse_ref(value)
        if ref is not None:
            return self.body(ref) if ref.type == rtype and not ref.data else None
        found = [b for b in self.resources(rtype).values() if b.get(by) == value]
        return found[0] if len(found) == 1 else None


# --- the model ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Deploy:
    """What a CodeDeployToECS action deploys with: its group, target groups, alarms and the task size."""

    application: str
    group: str
    config: str
    target_groups: Tuple[str, ...]
    alarms: Tuple[str, ...]  # short kinds, e.g. `elb-5xx`
    rollback_on_alarm: bool
    service: str
    stage: str  # the deployment group's `stage` tag, else the pipeline stage's name in lower case
    ecs_service: str
    cpu: str
    memory: str
    endpoint: str


@dataclass(frozen=True)
class Action:
    name: str
    category: str
    provider: str
    run_order: int
    detail: Tuple[str, ...]  # lines under the action's name
    role: str
    deploy: Optional[Deploy]


@dataclass(frozen=True)
class Stage:
    name: str
    rows: Tuple[Tuple[Action, ...], ...]  # one row per run order, ascending; a row runs in parallel
    roles: Tuple[str, ...]

    @property
    def actions(self) -> Tuple[Action, ...]:
        return tuple(a for row in self.rows for a in row)


@dataclass(frozen=True)
class Pipeline:
    region: str
    name: str
    role: str
    stages: Tuple[Stage, ...]
    resource_counts: Tuple[Tuple[str, int], ...]


def load(out: Path, region: str) -> Doc:
    path = out / "stacks" / region / "cdk.tf.json"
    if not path.is_file():
        raise UserError(f"{path}: no synthesized output for {region}: {SYNTH_HINT} first")
    try:
        return Doc(region, json.loads(path.read_text()))
    except (OSError, ValueError) as err:
        raise UserError(f"{path}: not readable synthesized JSON ({err}): {SYNTH_HINT} again") from None


def pipeline(doc: Doc) -> Pipeline:
    """The region's pipeline as a model, every reference resolved."""
    pipelines = doc.resources("aws_codepipeline")
    if len(pipelines) != 1:
        raise UserError(f"{doc.region}: expected one aws_codepipeline in the synthesized JSON, found {len(pipelines)}")
    body = next(iter(pipelines.values()))
    endpoints = (doc.doc.get("output", {}).get("service_endpoints", {}) or {}).get("value") or {}
    stages = []
    for stage in body.get("stage") or []:
        actions = [_action(doc, stage["name"], a, endpoints) for a in stage.get("action") or []]
        orders = sorted({a.run_order for a in actions})
        rows = tuple(tuple(a for a in actions if a.run_order == o) for o in orders)
        roles = tuple(dict.fromkeys(a.role for a in actions if a.role))
        stages.append(Stage(stage["name"], rows, roles))
    counts = tuple(sorted((rtype, len(items)) for rtype, items in (doc.doc.get("resource") or {}).items()))
    return Pipeline(doc.region, doc.name(body.get("name")), doc.name(body.get("role_arn")), tuple(stages), counts)


def _action(doc: Doc, stage: str, action: Dict[str, Any], endpoints: Dict[str, str]) -> Action:
    config = action.get("configuration") or {}
    provider = action.get("provider", "")
    deploy = None
    if provider == "CodeCommit":
        detail = (f"CodeCommit: {doc.name(config.get('RepositoryName'))} @ {doc.name(config.get('BranchName'))}",)
    elif provider == "CodeBuild":
        detail = (f"CodeBuild: {doc.name(config.get('ProjectName'))}",)
    elif provider == "Manual":
        topic = config.get("NotificationArn")
        detail = ("manual approval gate",) + ((f"notifies {doc.name(topic)}",) if topic else ())
    elif provider == "CodeDeployToECS":
        deploy = _deploy(doc, stage, config, endpoints)
        detail = (f"CodeDeployToECS: {deploy.application}",)
    else:
        detail = (provider,)
    role = doc.name(action["role_arn"]) if action.get("role_arn") else ""
    return Action(action["name"], action.get("category", ""), provider, int(action.get("run_order") or 1),
                  detail, role, deploy)


def _deploy(doc: Doc, stage: str, config: Dict[str, Any], endpoints: Dict[str, str]) -> Deploy:
    group_value = config.get("DeploymentGroupName")
    group = doc.target(group_value, "aws_codedeploy_deployment_group", by="deployment_group_name") or {}
    group_name = doc.name(group.get("deployment_group_name", group_value))
    pair = ((group.get("load_balancer_info") or {}).get("target_group_pair_info") or {})
    target_groups = tuple(doc.name(tg.get("name")) for tg in _blocks(pair.get("target_group")))
    alarm_config = group.get("alarm_configuration") or {}
    alarms = tuple(_alarm_kind(doc.name(a), group_name) for a in alarm_config.get("alarms") or []) \
        if alarm_config.get("enabled", True) else ()
    rollback = group.get("auto_rollback_configuration") or {}
    rollback_on_alarm = bool(rollback.get("enabled")) and "DEPLOYMENT_STOP_ON_ALARM" in (rollback.get("events") or [])
    ecs = group.get("ecs_service") or {}
    ecs_body = doc.target(ecs.get("service_name"), "aws_ecs_service") or {}
    taskdef = doc.target(ecs_body.get("task_definition"), "aws_ecs_task_definition", by="family") or {}
    tags = group.get("tags") or {}
    service = str(tags.get("service") or doc.name(ecs.get("service_name")))
    stage_key = str(tags.get("stage") or stage.lower())
    endpoint = endpoints.get(f"{stage_key}/{service}")
    return Deploy(
        application=doc.name(config.get("ApplicationName", group.get("app_name"))),
        group=group_name, config=doc.name(group.get("deployment_config_name", "")),
        target_groups=target_groups, alarms=alarms, rollback_on_alarm=rollback_on_alarm,
        service=service, stage=stage_key, ecs_service=doc.name(ecs.get("service_name", "")),
        cpu=doc.name(taskdef.get("cpu", "?")), memory=doc.name(taskdef.get("memory", "?")),
        endpoint=doc.expand(endpoint) if isinstance(endpoint, str) else "")


def _blocks(value: Any) -> List[Dict[str, Any]]:
    """A Terraform nested block as a list (a single block may be an object)."""
    if isinstance(value, dict):
        return [value]
    return [v for v in value or [] if isinstance(v, dict)]


def _alarm_kind(alarm: str, group: str) -> str:
    """`shop-staging-api-service-elb-5xx` -> `elb-5xx`: alarm names start with their group's name."""
    prefix = f"{group}-"
    return alarm[len(prefix):] if alarm.startswith(prefix) and len(alarm) > len(prefix) else alarm


# --- Mermaid --------------------------------------------------------------------------------------

def _label(*lines: str) -> str:
    """A quoted Mermaid label: entity-escaped (no raw `"`, `<`, `>`, `#`), lines joined by <br/>."""
    escaped = []
    for line in lines:
        text = str(line).replace("#", "#35;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
        escaped.append(" ".join(text.split()))
    return '"' + "<br/>".join(escaped) + '"'


def mermaid(model: Pipeline) -> str:
    """The pipeline as a Mermaid flowchart (top to bottom), deterministic for a given JSON."""
    out = ["flowchart TB",
           f"  %% {model.region}: pipeline {model.name}; generated by `nox -s diagram` from the synth output"]
    approvals, deploys, details, alarms = [], [], [], []
    for i, stage in enumerate(model.stages, 1):
        sid = f"s{i}"
        out.append(f"  subgraph {sid}[{_label(f'{i} · {stage.name}')}]")
        ids: List[List[str]] = []  # node id per action, row by row
        for r, row in enumerate(stage.rows):
            ids.append([])
            for action in row:
                aid = f"{sid}a{sum(len(x) for x in ids) + 1}"
                ids[r].append(aid)
                manual = action.provider == "Manual"
                shape = ("{{", "}}") if manual else ("[", "]")
                node = f"{aid}{shape[0]}{_label(action.name, *action.detail)}{shape[1]}"
                if manual:
                    approvals.append(aid)
                if action.deploy is None:
                    out.append(f"    {node}")
                    continue
                deploys.append(aid)
                d = action.deploy
                out.append(f"    subgraph {aid}svc[{_label(d.service)}]")
                out.append(f"      {node}")
                out.append(f"      {aid}dg[{_label('deployment group', d.group, d.config)}]")
                out.append(f"      {aid}tg[{_label('target groups', *d.target_groups)}]")
                details.extend([f"{aid}dg", f"{aid}tg"])
                out.append(f"      {aid} --> {aid}dg")
                out.append(f"      {aid}dg --> {aid}tg")
                if d.alarms:
                    title = f"rollback alarms ({len(d.alarms)})" if d.rollback_on_alarm else f"alarms ({len(d.alarms)})"
                    out.append(f"      {aid}al[{_label(title, *d.alarms)}]")
                    verb = "rolls back on" if d.rollback_on_alarm else "stops on"
                    out.append(f"      {aid}dg -.->|{_label(verb)}| {aid}al")
                    alarms.append(f"{aid}al")
                out.append("    end")
        for earlier, later in zip(ids, ids[1:]):  # run order k finishes before run order k+1 starts
            out.extend(f"    {a} --> {b}" for a in earlier for b in later)
        out.append("  end")
    for i in range(1, len(model.stages)):
        out.append(f"  s{i} --> s{i + 1}")
    # Light fills with dark text: readable with light and dark page themes alike.
    styles = (("approval", "fill:#fff3cd,stroke:#b8860b,color:#1f2328", approvals),
              ("deploy", "fill:#e7f0fd,stroke:#3b6fb6,color:#1f2328", deploys),
              ("detail", "fill:#f6f8fa,stroke:#8c959f,color:#1f2328", details),
              ("alarm", "fill:#fdecea,stroke:#c0392b,color:#1f2328", alarms))
    for name, style, members in styles:
        if members:
            out.append(f"  classDef {name} {style}")
            out.append(f"  class {','.join(members)} {name}")
    return "\n".join(out) + "\n"


# --- Markdown -------------------------------------------------------------------------------------

def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if text else "—"


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> List[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def overview(model: Pipeline) -> str:
    """Stages with their actions and IAM roles, services x stages, resource counts: Markdown."""
    lines = [f"Pipeline `{model.name}` in {model.region} (pipeline role `{model.role}`); "
             "each stage's actions run under the stage's role:", ""]
    stage_rows = []
    for stage in model.stages:
        order = " → ".join(", ".join(a.name for a in row) for row in stage.rows)
        roles = ", ".join(_code(r) for r in stage.roles) or f"pipeline role {_code(model.role)}"
        stage_rows.append((stage.name, order, roles))
    lines += _table(("stage", "actions (→ next run order)", "IAM role"), stage_rows)
    service_rows = [(a.deploy.service, stage.name, a.deploy.cpu, a.deploy.memory, _code(a.deploy.group),
                     _code(a.deploy.endpoint)) for stage in model.stages for a in stage.actions if a.deploy]
    if service_rows:
        lines += ["", *_table(("service", "stage", "CPU", "memory (MiB)", "deployment group", "endpoint"),
                              service_rows)]
    total = sum(n for _, n in model.resource_counts)
    lines += ["", f"<details><summary>{total} resources of {len(model.resource_counts)} types</summary>", "",
              *_table(("resource type", "count"), ((_code(t), n) for t, n in model.resource_counts)),
              "", "</details>"]
    return "\n".join(lines) + "\n"


def section(model: Pipeline) -> str:
    """The Mermaid block and the overview: what the README holds for us-east-1."""
    return f"```mermaid\n{mermaid(model)}```\n\n{overview(model)}"


def document(model: Pipeline) -> str:
    return f"## {model.region}\n\n{section(model)}"


# --- README ---------------------------------------------------------------------------------------

def _split_readme(text: str, path: Path) -> Tuple[str, str, str]:
    """(before and including the start marker, the section, the end marker and after)."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise UserError(f"{path}: needs exactly one {START} followed by one {END}")
    head, rest = text.split(START, 1)
    body, tail = rest.split(END, 1)
    return head + START, body, END + tail


def readme_section(readme: Path) -> str:
    """The text between the README markers, without the newlines that separate it from them."""
    _, body, _ = _split_readme(readme.read_text(), readme)
    return body.strip("\n")


def update_readme(readme: Path, generated: str) -> bool:
    """Write `generated` between the markers; whether the file changed."""
    text = readme.read_text()
    head, _, tail = _split_readme(text, readme)
    new = f"{head}\n{generated.strip(chr(10))}\n{tail}"
    if new == text:
        return False
    readme.write_text(new)
    return True


# --- CLI ------------------------------------------------------------------------------------------

def _stale(out: Path, region: str) -> bool:
    """Whether the stored synth output was made from other inputs than the current ones."""
    from cicd import synth  # no cdktf: it imports the app only when synthesizing

    stamp = out / "stacks" / region / synth.FINGERPRINT_FILE
    if not stamp.is_file():
        return False
    stored = stamp.read_text().strip()
    return all(stored != synth.fingerprint(region, promoted, dict(os.environ)) for promoted in (False, True))


def main(argv: Optional[Sequence[str]] = None, readme: Path = README) -> int:
    parser = argparse.ArgumentParser(prog="nox -s diagram --", description=__doc__.splitlines()[0])
    parser.add_argument("--region", action="append", default=[], help="only this region (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the synth output folder (default cdktf.out)")
    parser.add_argument("--write", type=Path, metavar="FOLDER",
                        help="write <region>.md into FOLDER instead of printing (use a gitignored folder)")
    readme_group = parser.add_mutually_exclusive_group()
    readme_group.add_argument("--update-readme", action="store_true",
                             help=f"replace README.md's {README_REGION} diagram section with the current one")
    readme_group.add_argument("--check-readme", action="store_true",
                             help=f"exit 1 when README.md's {README_REGION} diagram section is out of date")
    args = parser.parse_args(argv)

    known = [c.region for c in load_all()]
    for region in args.region:
        if region not in known:
            raise UserError(f"--region {region}: no environments/{region}/.env; allowed: {', '.join(known)}")
    regions = args.region or known
    readme_mode = args.update_readme or args.check_readme
    shown = regions if args.write is not None or not readme_mode else []
    wanted = list(dict.fromkeys(([README_REGION] if readme_mode else []) + shown))
    models = {r: pipeline(load(args.out, r)) for r in wanted}
    for region in wanted:
        if _stale(args.out, region):
            print(f"note: {args.out / 'stacks' / region} was synthesized from older inputs: "
                  f"{SYNTH_HINT} for the current diagram", file=sys.stderr)

    if args.check_readme:
        if readme_section(readme) != section(models[README_REGION]).strip("\n"):
            print(OUT_OF_DATE, file=sys.stderr)
            return 1
        print(f"{readme.name}: the {README_REGION} diagram is up to date")
    if args.update_readme:
        changed = update_readme(readme, section(models[README_REGION]))
        print(f"{readme.name}: {README_REGION} diagram {'updated' if changed else 'already up to date'}")
    if args.write is not None:
        if args.write.exists() and not args.write.is_dir():
            raise UserError(f"--write {args.write}: exists and is not a folder")
        args.write.mkdir(parents=True, exist_ok=True)
        for region in shown:
            path = args.write / f"{region}.md"
            path.write_text(document(models[region]))
            print(f"{region}: wrote {path}")
    elif shown:
        print("\n".join(document(models[r]) for r in shown), end="")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
