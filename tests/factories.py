import factory
from django.contrib.auth.models import Group

from incidents.choices import Role
from incidents.models import Department, Employee, Incident, ProblemGroup
from locations.models import Device, Location

PASSWORD = "secret-pass-123"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"D{n}")
    name = factory.LazyAttribute(lambda o: f"Department {o.code}")


def _roles(*default: Role):
    """Post-generation hook: `roles=(...)` on the call, else the factory's default roles."""

    @factory.post_generation
    def roles(employee, create, extracted, **kwargs):
        if create:
            employee.groups.set(Group.objects.filter(name__in=extracted or default))

    return roles


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    employee_number = factory.Sequence(lambda n: f"E{n:05d}")
    display_name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    department = factory.SubFactory(DepartmentFactory)
    password = factory.django.Password(PASSWORD)
    roles = _roles()


class StaffFactory(EmployeeFactory):
    roles = _roles(Role.STAFF)


class SupervisorFactory(EmployeeFactory):
    roles = _roles(Role.SUPERVISOR)


class AdminFactory(EmployeeFactory):
    """An administrator by role: the permissions of the role table, not a superuser."""

    department = None
    roles = _roles(Role.ADMIN)


class SuperuserFactory(EmployeeFactory):
    """Made with `createsuperuser`: every permission, no role needed."""

    is_superuser = True
    department = None


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC-{n}")
    name = factory.LazyAttribute(lambda o: f"Shelf {o.code}")


class DeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Device

    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")
    project = "Falcon"
    hardware_version = "EVT2"
    location = factory.SubFactory(LocationFactory)


class ProblemGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProblemGroup

    number = factory.Sequence(lambda n: f"BUG-2025-{n:04d}")
    title = "Shared root cause"


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    device = factory.SubFactory(DeviceFactory)
    reporter = factory.SubFactory(StaffFactory)
    fail_item = "BT_RSSI"
