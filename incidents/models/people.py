from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from incidents.choices import Role
from locations.fields import CodeField

# Counts changes of anyone's roles (incidents.signals and the bulk grant call roles_changed): a
# person's roles read once for an instance are read again after any change.
_roles_generation = [0]


def roles_changed() -> None:
    _roles_generation[0] += 1


class Department(models.Model):
    """A department that owns workflow stages: production, FAE, X-ray lab, EE, ME…, named in
    English and in Chinese: each reader sees the name in their own language."""

    name = models.CharField(_("English name"), max_length=100)
    name_zh = models.CharField(
        _("Chinese name"),
        max_length=100,
        blank=True,
        help_text=_("Shown to people who read Chinese; the English name when empty."),
    )
    code = CodeField(
        _("code"), max_length=16, help_text=_("Short code, e.g. FAE. Used in imports and labels.")
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(
        _("active"),
        default=True,
        help_text=_(
            "Untick to stop using the department: it then takes no members and owns no stage, "
            "and stays named wherever it was."
        ),
    )
    supervisors = models.ManyToManyField(
        "incidents.Employee",
        blank=True,
        related_name="supervised_departments",
        verbose_name=_("supervisors"),
        help_text=_("Supervisors assign, approve and reject the stages this department owns."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(
                fields=["code"],
                name="department_code_unique",
                violation_error_message=_("A department with this code already exists."),
            ),
            models.UniqueConstraint(
                fields=["name"],
                name="department_name_unique",
                violation_error_message=_("A department with this name already exists."),
            ),
            models.UniqueConstraint(
                fields=["name_zh"],
                condition=~Q(name_zh=""),
                name="department_name_zh_unique",
                violation_error_message=_("A department with this Chinese name already exists."),
            ),
        ]

    def __str__(self) -> str:
        name = self.localized_name
        # FAE, EE, ME are their own names: "FAE", not "FAE (FAE)".
        return name if name.upper() == self.code.upper() else f"{name} ({self.code})"

    @property
    def localized_name(self) -> str:
        """The name in the reader's (the active) language; the other one when it has none."""
        chinese = (get_language() or "").startswith("zh")
        return (self.name_zh if chinese else self.name) or self.name or self.name_zh


class EmployeeManager(UserManager):
    def get_by_natural_key(self, username):
        return self.get(**{self.model.USERNAME_FIELD: username})


class Employee(AbstractUser):
    """A person in the factory: badge number, department and login account."""

    employee_number = CodeField(
        _("employee number"),
        max_length=32,
        help_text=_("The number printed on the badge (工号); its QR code identifies the person."),
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    department = models.ForeignKey(
        "incidents.Department",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="employees",
        verbose_name=_("department"),
    )
    # Everyone who logs in works in the admin: it is the product, not a back office.
    language = models.CharField(
        _("language"),
        max_length=16,
        blank=True,
        choices=settings.LANGUAGES,
        help_text=_("The language this person reads the product and receives e-mails in."),
    )
    is_staff = models.BooleanField(
        _("can log in to the admin"),
        default=True,
        help_text=_("Untick to keep the record (e.g. as a device holder) without admin access."),
    )

    objects = EmployeeManager()

    REQUIRED_FIELDS = ["employee_number", "email"]

    class Meta:
        ordering = ["employee_number"]
        verbose_name = _("employee")
        verbose_name_plural = _("employees")
        constraints = [
            models.UniqueConstraint(
                fields=["employee_number"],
                name="employee_number_unique",
                violation_error_message=_("An employee with this employee number already exists."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_full_name()} ({self.employee_number})"

    def get_full_name(self) -> str:
        return self.display_name or super().get_full_name() or self.username

    def get_short_name(self) -> str:
        return self.get_full_name()

    def role_names(self) -> frozenset[str]:
        """The names of this person's roles, read once for this instance (a request reads
        them for every check of a page) and again after anyone's roles changed."""
        kept = getattr(self, "_role_names", None)
        if kept is None or kept[0] != _roles_generation[0]:
            kept = (_roles_generation[0], frozenset(self.groups.values_list("name", flat=True)))
            self._role_names = kept
        return kept[1]

    def has_role(self, role: Role) -> bool:
        return role in self.role_names()

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.has_role(Role.ADMIN)
