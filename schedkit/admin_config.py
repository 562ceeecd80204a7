from django.contrib.admin.apps import AdminConfig


class SchedKitAdminConfig(AdminConfig):
    """The Django admin, with its login replaced by the magic-link + code flow."""

    default_site = "schedkit.admin_site.SchedKitAdminSite"
