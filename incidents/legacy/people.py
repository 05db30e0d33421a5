"""Planning the people of the legacy workbook: departments found or made, new people, and the
changes to people already in the product (a changed name, e-mail or department, a role granted),
listed field by field and planned only when confirmed for the import. Mixed into
`LegacyImporter` (importer.py)."""

import re

from django.utils.translation import gettext as _

from incidents.choices import Role
from incidents.legacy.columns import DEPARTMENT_SYNONYMS, SheetKind, normalise
from incidents.legacy.report import ALL_LISTED, PersonChange
from incidents.models import Department
from incidents.services.people import employee_build, employee_change_refusal

# A department named in Chinese in the workbook gets that as its Chinese name too.
CHINESE = re.compile(r"[\u3400-\u9fff]")


class PeoplePlanMixin:
    """The importer's planning of departments and people."""

    def _known_department(self, name: str) -> Department | None:
        """The department the workbook names, by code, synonym or either name, if it exists."""
        if not name:
            return None
        code = DEPARTMENT_SYNONYMS.get(normalise(name))
        department = self.departments.get(code) if code else None
        department = department or self.department_names.get(normalise(name))
        return department or self.departments.get(name.upper()[:16])

    def _department(self, name: str) -> Department | None:
        if not name:
            return None
        department = self._known_department(name)
        if department is None:
            chinese = name if CHINESE.search(name) else ""
            department = Department(code=name.upper()[:16], name=name, name_zh=chinese)
            self.plan.departments.append(department)
            self.departments[department.code.upper()] = department
            self.department_names[normalise(name)] = department
        return department

    def _plan_employees(self, rows: list[dict]) -> None:
        """New people come in as staff. Everything else the workbook says about people (a
        changed name, e-mail or department, a role granted, to anyone) is listed field by field
        and made only when confirmed for this import; the rules of the person's page
        (`employee_change_refusal`) hold either way."""
        summary = self.report.summaries[SheetKind.EMPLOYEES]
        for row in rows:
            department = self._department(row["department"])
            employee = self.employees.get(row["employee_number"].upper())
            if employee is None:
                employee = employee_build(
                    employee_number=row["employee_number"],
                    username=row["username"],
                    display_name=row["name"],
                    email=row["email"],
                    department=department,
                )
                self.plan.new_employees.append(employee)
                self.employees[employee.employee_number.upper()] = employee
                summary.created += 1
                if row["role"] != Role.STAFF:
                    change = self._role_change(row, employee, set(), department)
                    self._decide_people(row, employee, {}, change, department, new=True)
                continue
            wanted = {}
            if row["name"] and row["name"] != employee.display_name:
                wanted["display_name"] = row["name"]
            if row["email"] and row["email"] != employee.email:
                wanted["email"] = row["email"]
            if department is not None and department != employee.department:
                wanted["department"] = department
            roles = self.roles.get(employee.pk, set())
            supervised = department or employee.department
            change = (
                self._role_change(row, employee, roles, supervised)
                if row["role"] not in roles
                else None
            )
            if not wanted and change is None:
                summary.unchanged += 1
                continue
            outcome = self._decide_people(row, employee, wanted, change, supervised, new=False)
            summary.count(outcome)

    def _field_change(self, row, employee, name: str, value) -> PersonChange:
        column = {"display_name": "name"}.get(name, name)
        before, after = getattr(employee, name), value
        if name == "department":
            key = f"{getattr(before, 'code', '')}|{value.code}"
            before, after = (str(before) if before else ""), str(value)
        else:
            key = f"{before}|{after}"
        return PersonChange(
            sheet=self.report.sheet_titles[SheetKind.EMPLOYEES],
            row=row["row"],
            person=str(employee),
            column=self.sheets[SheetKind.EMPLOYEES].column_name(column),
            before=before,
            after=after,
            key=f"{employee.employee_number.upper()}|{name}|{key}",
        )

    def _role_change(self, row, employee, roles: set[str], supervised) -> PersonChange:
        role = Role(row["role"])

        def names(values) -> str:
            return ", ".join(str(Role(value).label) for value in sorted(values))

        after = names(roles | {role})
        if role == Role.SUPERVISOR and supervised is not None:
            after = _("%(roles)s (supervises %(department)s)") % {
                "roles": after,
                "department": supervised,
            }
        code = supervised.code if role == Role.SUPERVISOR and supervised is not None else ""
        return PersonChange(
            sheet=self.report.sheet_titles[SheetKind.EMPLOYEES],
            row=row["row"],
            person=str(employee),
            column=self.sheets[SheetKind.EMPLOYEES].column_name("role"),
            before=names(roles),
            after=after,
            key=f"{employee.employee_number.upper()}|role|+{role}|{code}",
        )

    def _confirmed(self, change: PersonChange) -> bool:
        return self.confirmed_people == ALL_LISTED or change.key in self.confirmed_people

    def _decide_people(self, row, employee, wanted: dict, role_change, supervised, *, new: bool):
        """List the changes to one person and plan those confirmed; the outcome of the row."""
        changes = {
            name: self._field_change(row, employee, name, value) for name, value in wanted.items()
        }
        listed = [*changes.values(), *([role_change] if role_change else [])]
        self.report.people_changes.extend(listed)
        sheet = self.sheets[SheetKind.EMPLOYEES]
        refusal = None if new else employee_change_refusal(employee=employee, by=self.user)
        if refusal:
            self._skip(SheetKind.EMPLOYEES, row, sheet.column_name("employee_number"), refusal)
            return "skipped"
        if "department" in wanted:
            refusal = employee_change_refusal(
                employee=employee, by=self.user, department=wanted["department"]
            )
            if refusal:
                self._skip(SheetKind.EMPLOYEES, row, changes["department"].column, refusal)
                listed.remove(changes.pop("department"))
                del wanted["department"]
        if not self.confirmed_people:
            if listed:
                self._skip(
                    SheetKind.EMPLOYEES,
                    row,
                    listed[0].column,
                    self._unconfirmed(employee, role_change, new),
                )
            return "created" if new else "skipped"
        for change in listed:
            if self._confirmed(change):
                change.applied = True
            else:
                self._skip(
                    SheetKind.EMPLOYEES,
                    row,
                    change.column,
                    _(
                        "%(change)s was not among the changes confirmed for this import (the "
                        "person or the workbook changed since the check)"
                    )
                    % {"change": f"{change.before or '—'} → {change.after}"},
                )
        applied = {name: wanted[name] for name, change in changes.items() if change.applied}
        if applied:
            self.plan.changed_employees.append((employee, applied))
        if role_change is not None and role_change.applied:
            self.plan.roles.append((employee, row["role"], supervised))
        if new:
            return "created"
        return "updated" if applied or (role_change and role_change.applied) else "skipped"

    @staticmethod
    def _unconfirmed(employee, role_change, new: bool) -> str:
        if new:
            return _(
                "%(person)s comes in as staff: the workbook grants a role (%(roles)s) only when "
                "it is confirmed for this import"
            ) % {"person": employee, "roles": role_change.after}
        return _(
            "%(person)s is already in the product: the workbook changes nobody there (nor their "
            "roles) unless the changes listed for them are confirmed for this import"
        ) % {"person": employee}
