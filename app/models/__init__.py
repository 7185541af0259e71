"""All tables, typed SQLAlchemy 2 models; import from here.

org (units, users, roles) · auth (sessions, API tokens, password history, rate limits) · cases (case, requester) ·
workflow (definitions, engine state, task projection, timers) · audit · config (dictionary,
settings, deadline rules, calendar) · knowledge (知识库) · outbox (SMS) · channels (integration keys) ·
portal (attachments, SMS look-up codes) · dedupe (the 判重 index) · screening (矛盾纠纷排查) ·
pauses (pause rules and pauses, escalation rungs) · queries (saved queries, export jobs) · reports (the
report summary, saved custom reports).
"""

from app.models.audit import AuditEvent
from app.models.auth import ApiToken, PasswordHistory, RateLimitCounter, UserSession
from app.models.base import Base
from app.models.calls import Call, Callback, CallbackAttempt, CallOutcome
from app.models.cases import Case, Requester, case_assisting_unit
from app.models.channels import ChannelKey, ChannelSubmission
from app.models.config import (
    CalendarDay,
    CalendarYear,
    DataRevision,
    DeadlineRule,
    DictionaryEntry,
    LocalHoliday,
    RoutingRule,
    Setting,
)
from app.models.counter import Counter
from app.models.dedupe import DedupeBand, DedupePlace
from app.models.knowledge import (
    KnowledgeAttachment,
    KnowledgeEntry,
    KnowledgeFeedback,
    KnowledgeSynonym,
    KnowledgeTerm,
    KnowledgeUse,
)
from app.models.org import Permission, Role, Unit, User, role_permission, user_role
from app.models.outbox import SmsMessage
from app.models.pauses import PauseRule, TaskEscalation, TaskPause
from app.models.portal import Attachment, PortalChallenge
from app.models.queries import ExportJob, SavedQuery
from app.models.reports import ReportDay, ReportStaleMark, SavedReport
from app.models.screening import CaseFlag, DisputeScreening
from app.models.workflow import (
    CaseDeadline,
    CaseMigration,
    DefinitionDraft,
    HumanTask,
    IdempotentRequest,
    ProcessDefinition,
    ProcessTimer,
    TaskWarning,
    WorkflowState,
)

__all__ = [
    "ApiToken", "Attachment", "AuditEvent", "Base", "CalendarDay", "CalendarYear", "Case", "CaseDeadline",
    "CaseFlag", "CaseMigration", "DisputeScreening", "ExportJob", "SavedQuery", "ReportDay", "ReportStaleMark",
    "SavedReport",
    "Counter", "DataRevision", "DeadlineRule", "DefinitionDraft",
    "DedupeBand", "DedupePlace",
    "DictionaryEntry", "HumanTask", "IdempotentRequest", "LocalHoliday", "PasswordHistory", "Permission",
    "ProcessDefinition",
    "KnowledgeAttachment", "KnowledgeEntry", "KnowledgeFeedback", "KnowledgeSynonym", "KnowledgeTerm", "KnowledgeUse",
    "PauseRule", "PortalChallenge", "ProcessTimer", "Requester", "TaskEscalation", "TaskPause",
    "RateLimitCounter", "Role", "RoutingRule", "Setting", "SmsMessage", "TaskWarning", "Unit", "User", "UserSession",
    "WorkflowState",
    "case_assisting_unit", "role_permission", "user_role",
    "Call", "Callback", "CallbackAttempt", "CallOutcome", "ChannelKey", "ChannelSubmission",
]
