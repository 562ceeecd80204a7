from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse


class SchedKitAdminSite(admin.AdminSite):
    site_header = "SchedKit administration"
    site_title = "SchedKit admin"
    index_title = "Operations"

    def login(self, request, extra_context=None):
        """No passwords: the admin signs in through the same code/link flow as everyone."""
        if request.user.is_authenticated and request.user.is_staff:
            return HttpResponseRedirect(request.GET.get("next") or reverse("admin:index"))
        if request.user.is_authenticated:
            # Signed in but not staff: say so instead of bouncing back to the sign-in page.
            return render(request, "admin_not_staff.html", status=403)
        next_url = request.GET.get("next") or reverse("admin:index")
        return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")
