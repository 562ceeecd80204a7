from django.contrib import admin

from apps.accounts.models import ApiKey, LoginCode, User
from apps.accounts.services import api_key_cache_invalidate, api_key_revoke_staff
from apps.orgs.models import Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "user"
    extra = 0
    fields = ["org", "role", "active", "skills"]
    autocomplete_fields = ["org"]


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "username", "name", "is_active", "is_staff", "date_joined", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "username", "name"]
    readonly_fields = ["id", "last_login", "date_joined"]
    fields = [
        "id",
        "email",
        "username",
        "name",
        "timezone",
        "is_active",
        "is_staff",
        "is_superuser",
        "groups",
        "last_login",
        "date_joined",
    ]
    filter_horizontal = ["groups"]
    inlines = [MembershipInline]
    ordering = ["email"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        api_key_cache_invalidate(user_id=form.instance.pk)  # deactivation or role edits apply at once


@admin.register(LoginCode)
class LoginCodeAdmin(admin.ModelAdmin):
    """Audit of sign-in challenges; codes and links are stored hashed and cannot be read."""

    list_display = ["email", "created_at", "expires_at", "attempts", "used_at", "superseded", "requested_ip"]
    list_filter = ["superseded", ("used_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["email", "requested_ip"]
    readonly_fields = [f.name for f in LoginCode._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "user", "org", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "org"]
    search_fields = ["name", "prefix", "user__email", "org__slug"]
    readonly_fields = ["id", "prefix", "key_hash", "created_at", "last_used_at"]
    fields = [
        "id",
        "org",
        "user",
        "name",
        "prefix",
        "key_hash",
        "expires_at",
        "revoked_at",
        "created_at",
        "last_used_at",
    ]
    autocomplete_fields = ["user", "org"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are created by create_api_key or the API, which show the secret once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = api_key_revoke_staff(user=request.user, keys=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Revoked {count} key(s).")
