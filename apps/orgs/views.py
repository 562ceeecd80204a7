from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from apps.orgs import services
from apps.orgs.models import Membership
from schedkit.api.problems import Problem


@login_required
def home(request):
    """The signed-in landing page: your orgs, where to go next, and the org's live events."""
    memberships = list(Membership.objects.filter(user=request.user, active=True).select_related("org"))
    current = next(
        (m for m in memberships if m.org.slug == request.GET.get("org")), memberships[0] if memberships else None
    )
    return render(request, "orgs/home.html", {"memberships": memberships, "current": current})


@require_http_methods(["GET", "POST"])
def invite_accept(request, token):
    if request.method == "GET":
        return render(request, "orgs/invite_accept.html", {"token": token})
    try:
        user, membership = services.invite_accept(token=token, user=request.user)
    except Problem as problem:
        return render(request, "orgs/invite_accept.html", {"token": token, "error": problem.detail}, status=400)
    if not request.user.is_authenticated:
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(f"/?org={membership.org.slug}")
