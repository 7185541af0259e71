"""The workstation pages on one blueprint: cases (worklist, case page, task forms) · desk (dispatch, the
leader's desk) · intake · pauses · supervision (电子监察). Each module registers its routes on
`blueprint.bp`; none imports another."""

from app.web.workstation import cases, desk, intake, pauses, supervision
from app.web.workstation.blueprint import bp

__all__ = ["bp", "cases", "desk", "intake", "pauses", "supervision"]
