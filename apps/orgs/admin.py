from django.contrib import admin

from apps.orgs.hooks import access_changed
from apps.orgs.models import Invite, Membership, Org, Team, TeamMember


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "active", "skills"]
    autocomplete_fields = ["user"]


class TeamInline(admin.TabularInline):
    model = Team
    extra = 0
    fields = ["slug", "name", "routing_strategy"]
    show_change_link = True


@admin.register(Org)
class OrgAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone", "is_active", "created_at"]
    list_filter = ["is_active", "timezone"]
    search_fields = ["slug", "name"]
    readonly_fields = ["id", "created_at", "updated_at"]
    inlines = [MembershipInline, TeamInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        access_changed(org_id=obj.pk)  # e.g. deactivating the org stops its keys at once


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "active", "created_at"]
    list_filter = ["role", "active", "org"]
    search_fields = ["user__email", "user__username", "org__slug"]
    autocomplete_fields = ["user", "org"]
    list_select_related = ["user", "org"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        access_changed(org_id=obj.org_id, user_id=obj.user_id)  # a role edit applies at once

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        access_changed(org_id=obj.org_id, user_id=obj.user_id)


class TeamMemberInline(admin.TabularInline):
    model = TeamMember
    extra = 0
    fields = ["membership", "active", "last_assigned_at"]
    readonly_fields = ["last_assigned_at"]
    autocomplete_fields = ["membership"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "org", "routing_strategy", "created_at"]
    list_filter = ["routing_strategy", "org"]
    search_fields = ["slug", "name", "org__slug"]
    autocomplete_fields = ["org"]
    list_select_related = ["org"]
    inlines = [TeamMemberInline]

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            obj.org_id = form.instance.org_id
            obj.save()
        formset.save_m2m()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(TeamMember)
class TeamMemberAdmin(admin.ModelAdmin):
    list_display = ["team", "membership", "active", "last_assigned_at", "org"]
    list_filter = ["active", "org"]
    search_fields = ["team__slug", "membership__user__email"]
    list_select_related = ["team", "membership__user", "org"]
    autocomplete_fields = ["team", "membership", "org"]


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ["email", "org", "role", "invited_by", "expires_at", "accepted_at", "revoked_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter), "org"]
    search_fields = ["email", "org__slug"]
    readonly_fields = ["id", "token_hash", "created_at", "accepted_at"]
    list_select_related = ["org", "invited_by"]
    autocomplete_fields = ["org", "invited_by"]
