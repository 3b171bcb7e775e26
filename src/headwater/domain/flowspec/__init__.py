"""Flows as files (seed 002): parse and check, export, and expand into routes of instances.

flow = parse_flow(text, source="flow.yaml")      # FlowSpecError names FILE:LINE key
to_yaml(flow)                                     # reads back equal
expand(flow, "Train", finished)                   # the instances of one task, once its
                                                  # parents have ended
"""

from headwater.domain.flowspec.checks import CHECKS, run_checks
from headwater.domain.flowspec.conditions import passing
from headwater.domain.flowspec.export import to_yaml
from headwater.domain.flowspec.instances import (
    Expansion,
    Finished,
    Planned,
    Upstream,
    recorded,
)
from headwater.domain.flowspec.model import (
    Condition,
    DataTask,
    DeployTask,
    ExecTask,
    Flow,
    GatedTask,
    Objective,
    Relation,
    Task,
    TaskType,
)
from headwater.domain.flowspec.names import (
    PASSED_CONDITION,
    cnvrg_aliases,
    folder_name,
    input_env_name,
    passed_condition_env,
    tag_env_name,
)
from headwater.domain.flowspec.parse import parse_flow, parse_flow_with_map
from headwater.domain.flowspec.routes import MAX_INSTANCES, count_routes, expand, expand_all
from headwater.domain.flowspec.source import FlowSpecError, Problem, SourceMap
from headwater.domain.flowspec.templates import Ref, find_refs

__all__ = [
    "CHECKS",
    "MAX_INSTANCES",
    "PASSED_CONDITION",
    "Condition",
    "DataTask",
    "DeployTask",
    "ExecTask",
    "Expansion",
    "Finished",
    "Flow",
    "FlowSpecError",
    "GatedTask",
    "Objective",
    "Planned",
    "Problem",
    "Ref",
    "Relation",
    "SourceMap",
    "Task",
    "TaskType",
    "Upstream",
    "cnvrg_aliases",
    "count_routes",
    "expand",
    "expand_all",
    "find_refs",
    "folder_name",
    "input_env_name",
    "parse_flow",
    "parse_flow_with_map",
    "passed_condition_env",
    "passing",
    "recorded",
    "run_checks",
    "tag_env_name",
    "to_yaml",
]
