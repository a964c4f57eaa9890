from enum import Enum
from typing import Dict, List, Optional

from robusta.api import ActionParams, PodEvent, PrometheusParams, action


class Mode(str, Enum):
    LOUD = "loud"
    QUIET = "quiet"


class Threshold(ActionParams):
    name: str
    limit: int = 3


class RestartReportParams(ActionParams):
    """
    Report restarts.

    :var not_a_field: int  (a docstring line that looks like a field)
    """

    max_restarts: int  # required: no default
    mode: Mode = Mode.LOUD
    labels: Optional[Dict[str, str]] = None
    thresholds: List[Threshold] = []
    note: Optional[str]

    def describe(self) -> str:
        inner: int = 1
        return str(inner)


@action
def report_restarts(
    event: PodEvent,
    params: RestartReportParams,  # the params class
):
    pass


class FreeFormParams(ActionParams):
    anything: str = ""

    class Config:
        extra = "allow"


@action
def free_form(event: "ExecutionBaseEvent", params: FreeFormParams):
    pass


class GraphParams(PrometheusParams):
    query: str


@action
def custom_graph(event: PrometheusKubernetesAlert, params: GraphParams):
    pass


def helper(event: PodEvent):
    pass


registered_later = action(helper)
