"""The fixed catalogue of roles and permissions, and the separation of the three admin powers (三权分立)."""

from __future__ import annotations

ROLES: dict[str, str] = {
    "agent": "话务员",
    "handler": "经办人",
    "leader": "分管领导",
    "dispatcher": "派单员",
    "sysadmin": "系统管理员",
    "secadmin": "安全管理员",
    "auditor": "审计员",
    "knowledge_editor": "知识库编辑",
    "knowledge_reviewer": "知识库审核员",
}

PERMISSIONS: dict[str, str] = {
    "case.read": "查看诉求件",
    "case.read_personal": "查看诉求人完整信息",
    "case.create": "登记诉求件",
    "case.dispatch": "派单",
    "case.handle": "办理",
    "case.approve": "审批",
    "case.supervise": "督办",
    "definition.deploy": "部署流程定义",
    "settings.edit": "修改参数配置",
    "dictionary.edit": "维护数据字典",
    "calendar.edit": "维护工作日历",
    "user.manage": "管理用户",
    "unit.manage": "维护组织机构",
    "role.assign": "分配角色",
    "audit.read": "查看审计日志",
    "backup.read": "查看数据备份",
    "channel.manage": "管理渠道密钥",
    "knowledge.read": "查阅知识库",
    "knowledge.edit": "维护本单位知识",
    "knowledge.review": "审核发布知识",
}

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "agent": ("case.read", "case.read_personal", "case.create", "knowledge.read"),
    "dispatcher": ("case.read", "case.read_personal", "case.dispatch", "case.create", "knowledge.read"),
    "handler": ("case.read", "case.read_personal", "case.handle", "knowledge.read"),
    "leader": ("case.read", "case.read_personal", "case.approve", "case.supervise", "knowledge.read"),
    "sysadmin": ("definition.deploy", "settings.edit", "dictionary.edit", "calendar.edit", "unit.manage",
                 "backup.read", "channel.manage"),
    "secadmin": ("user.manage", "role.assign"),
    "auditor": ("audit.read",),
    # 知识库: a unit's editors keep their own entries; the centre's reviewers publish (GB/T 44191-2024).
    "knowledge_editor": ("knowledge.read", "knowledge.edit"),
    "knowledge_reviewer": ("knowledge.read", "knowledge.edit", "knowledge.review"),
}

# 三权分立: system, security and audit administration never sit with one person.
SEPARATED_ROLES = frozenset({"sysadmin", "secadmin", "auditor"})

# Roles whose work is cases; the admin roles read no case (nor its personal data) by default.
CASE_ROLES = frozenset({"agent", "handler", "leader", "dispatcher"})
REPORT_ROLES = frozenset({"leader", "dispatcher"})  # read statistics and the 矛盾纠纷排查 list


class RoleConflict(ValueError):
    """A role set that breaks the separation of powers, or names an unknown role."""


def check_role_set(roles: set[str]) -> None:
    """Refuse unknown roles and any two of sysadmin / secadmin / auditor together."""
    unknown = roles - ROLES.keys()
    if unknown:
        raise RoleConflict(f"未知角色:{'、'.join(sorted(unknown))}")
    admin = roles & SEPARATED_ROLES
    if len(admin) > 1:
        names = "、".join(ROLES[r] for r in sorted(admin))
        raise RoleConflict(f"三权分立:{names}不能由同一人担任")
    if admin and roles - SEPARATED_ROLES:  # a case role, or a knowledge role
        raise RoleConflict(f"三权分立:{ROLES[next(iter(admin))]}不能同时担任业务角色")
