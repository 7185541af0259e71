"""Reads and writes behind the workstation pages: plain service functions, no Flask. Pages get dicts ready
to render, with Chinese labels, masked personal data and lights worked out here; writes go through the
use cases in services.intake and services.tasks.

    display          reference lists (dictionary labels, category and unit trees), times, masking
    worklist         我的待办: filters, counts per light, paging; task rows for other lists
    case_page        the case page: timeline in Chinese, related cases, current tasks
    diagram          the case's BPMN with lanes in Chinese and its current elements
    intake_form      来电/来访登记: field checks, registering, the duplicate hint
    desks            派单 desk (time limits per 办理方式) and the leader's desk

Lights and their labels live in app.domain.lights; what each step of a process does is asked of the
deployed definition (services.steps).
"""

from app.services.workstation.case_page import case_page
from app.services.workstation.desks import (
    dispatch_desk,
    dispatch_previews,
    leader_desk,
    proposal_values,
    supervise_by_number,
)
from app.services.workstation.diagram import case_diagram
from app.services.workstation.display import category_tree, format_time, labels, reference, unit_tree
from app.services.workstation.intake_form import check_requester, duplicate_hint, intake_start, register_from_form
from app.services.workstation.worklist import remaining, worklist_page

__all__ = [
    "case_diagram", "case_page", "category_tree", "check_requester", "dispatch_desk", "dispatch_previews",
    "duplicate_hint", "format_time", "intake_start", "labels", "leader_desk", "proposal_values", "reference",
    "register_from_form", "remaining", "supervise_by_number", "unit_tree", "worklist_page",
]
