"""The three roles of the product, as Django groups, and the permissions each one carries.

- Ops: edit the routing policy and the templates, see dashboards.
- Managers: view dashboards and exports (dashboards check the role itself).
- Labelers: review automated decisions.
Superusers can do everything. Apps declare their permission codenames here so one table says who
may do what.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission

OPS = "Ops"
MANAGERS = "Managers"
LABELERS = "Labelers"
ROLES = (OPS, MANAGERS, LABELERS)

_CRUD = ("add", "change", "delete", "view")

# "app_label.codename" or "app_label.*model" for all four model permissions.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    OPS: (
        "routing.*routingpolicy",
        "routing.*segmentrule",
        "routing.*regioncountry",
        "routing.*countryalias",
        "routing.*ownerpool",
        "routing.*poolmember",
        "routing.*overriderule",
        "routing.*rep",
        "templates_app.*emailtemplate",
        "templates_app.view_templatesuggestion",
        "routing.view_assignment",
        "flywheel.view_decision",
        "salesforce.view_deadletter",
        "salesforce.change_deadletter",
    ),
    MANAGERS: (
        "flywheel.view_decision",
        "templates_app.view_templatesuggestion",
        "routing.view_assignment",
    ),
    LABELERS: ("flywheel.view_decision", "flywheel.add_label", "flywheel.view_label"),
}


def _expand(spec: str) -> list[tuple[str, str]]:
    app_label, codename = spec.split(".", 1)
    if codename.startswith("*"):
        return [(app_label, f"{action}_{codename[1:]}") for action in _CRUD]
    return [(app_label, codename)]


def roles_sync() -> None:
    """Create the groups and grant the permissions that exist (unknown codenames are skipped)."""
    for role, specs in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = [pair for spec in specs for pair in _expand(spec)]
        perms = [
            perm
            for perm in Permission.objects.select_related("content_type")
            if (perm.content_type.app_label, perm.codename) in wanted
        ]
        group.permissions.add(*perms)


def sync_after_migrate(**kwargs: object) -> None:
    roles_sync()


def has_role(user: AbstractBaseUser | AnonymousUser, *roles: str) -> bool:
    """True for superusers and for members of any of ``roles``."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=roles).exists()
