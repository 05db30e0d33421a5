"""How the legacy workbook names its sheets, columns, stages, departments and roles.

Each name is matched after trimming spaces and ignoring case, so `设备SN`, ` 设备sn ` and
`Serial number` all find the same column. Exports use the first name of each list (Chinese) or
the English one, and re-import cleanly either way.
"""

from django.utils.translation import gettext_lazy as _

from incidents.choices import DepartmentCode, Role, Stage


class SheetKind:
    EMPLOYEES = "employees"
    LOCATIONS = "locations"
    REGISTER = "register"
    TRAIL = "trail"


# In dependency order: what later sheets refer to comes first.
SHEET_ORDER = (SheetKind.EMPLOYEES, SheetKind.LOCATIONS, SheetKind.REGISTER, SheetKind.TRAIL)

# Each sheet in the reader's words (the workbook's own sheet names are above).
SHEET_LABELS = {
    SheetKind.EMPLOYEES: _("Employees"),
    SheetKind.LOCATIONS: _("Locations"),
    SheetKind.REGISTER: _("Incident register"),
    SheetKind.TRAIL: _("Location trail"),
}

SHEET_NAMES = {
    SheetKind.EMPLOYEES: ["员工", "employees"],
    SheetKind.LOCATIONS: ["位置", "locations"],
    SheetKind.REGISTER: ["异常设备登记", "incidents", "incident register"],
    SheetKind.TRAIL: ["位置变更记录", "trail", "location trail", "moves"],
}

# field → (column names, required)
COLUMNS: dict[str, dict[str, tuple[list[str], bool]]] = {
    SheetKind.EMPLOYEES: {
        "employee_number": (["工号", "employee number"], True),
        "name": (["姓名", "name"], True),
        "username": (["英文名", "login", "username"], False),
        "email": (["邮箱", "email", "e-mail"], False),
        "department": (["部门", "department"], False),
        "role": (["角色", "role"], False),
    },
    SheetKind.LOCATIONS: {
        "code": (["位置编码", "location code", "code"], True),
        "name": (["名称", "name"], True),
        "parent": (["上级位置编码", "parent code", "parent"], False),
    },
    SheetKind.REGISTER: {
        "number": (["序号", "no."], False),
        "serial_number": (["设备SN", "serial number", "sn"], True),
        "project": (["专案", "project"], False),
        "hardware_version": (["硬件版本", "hardware version"], False),
        "rom_version": (["ROM版本", "ROM version"], False),
        "config": (["Config", "config"], False),
        "fail_station": (["Fail站", "fail station"], False),
        "fail_item": (["Fail项", "fail item"], False),
        "test_log_url": (["测试链接", "test log link"], False),
        "problem_group": (["问题编号", "problem group"], False),
        "stage": (["当前节点", "stage"], False),
        "holder": (["责任人工号", "holder", "holder employee number"], False),
        "location": (["当前位置", "location", "current location"], False),
        "opened_at": (["登记时间", "opened at", "registered at"], True),
        "description": (["备注", "notes", "description"], False),
    },
    SheetKind.TRAIL: {
        "serial_number": (["设备SN", "serial number", "sn"], True),
        "employee_number": (["工号", "employee number"], False),
        "location": (["位置", "location"], False),
        "at": (["变更时间", "moved at", "date"], True),
        "reason": (["原因", "reason"], False),
    },
}

STAGE_SYNONYMS: dict[str, Stage] = {
    **{stage.value: stage for stage in Stage},
    "产线上报": Stage.REPORTED,
    "产线fail": Stage.REPORTED,
    "待处理": Stage.REPORTED,
    "fae复测": Stage.FAE_RETEST,
    "复测中": Stage.FAE_RETEST,
    "fae初测": Stage.FAE_RETEST,
    "x-ray": Stage.XRAY,
    "x光检测": Stage.XRAY,
    "ee分析": Stage.EE_ANALYSIS,
    "电子分析": Stage.EE_ANALYSIS,
    "me分析": Stage.ME_ANALYSIS,
    "结构分析": Stage.ME_ANALYSIS,
    "fae终测": Stage.FINAL_RETEST,
    "最终复测": Stage.FINAL_RETEST,
    "已回产线": Stage.RETURNED,
    "回流产线": Stage.RETURNED,
    "正常流": Stage.RETURNED,
    "已报废": Stage.SCRAPPED,
    "报废": Stage.SCRAPPED,
    "已取消": Stage.CANCELLED,
}

DEPARTMENT_SYNONYMS = {
    "产线": DepartmentCode.PRODUCTION,
    "生产": DepartmentCode.PRODUCTION,
    "production": DepartmentCode.PRODUCTION,
    "prod": DepartmentCode.PRODUCTION,
    "fae": DepartmentCode.FAE,
    "x-ray实验室": DepartmentCode.XRAY,
    "x-ray lab": DepartmentCode.XRAY,
    "x光实验室": DepartmentCode.XRAY,
    "xray": DepartmentCode.XRAY,
    "ee": DepartmentCode.EE,
    "me": DepartmentCode.ME,
}

ROLE_SYNONYMS = {
    "主管": Role.SUPERVISOR,
    "supervisor": Role.SUPERVISOR,
    "员工": Role.STAFF,
    "工程师": Role.STAFF,
    "staff": Role.STAFF,
    "管理员": Role.ADMIN,
    "admin": Role.ADMIN,
    "administrator": Role.ADMIN,
}


def normalise(name) -> str:
    return " ".join(str(name or "").split()).lower()


def headers(kind: str) -> list[str]:
    """The header row of a legacy sheet as the factory writes it (Chinese)."""
    return [names[0] for names, _required in COLUMNS[kind].values()]
