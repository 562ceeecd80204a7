"""Server-rendered sign-in: email → code (or the emailed link) → session. Same services and
the same rate limits as the API; the Django admin sends people here."""

from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts import services
from apps.accounts.api.views import LoginEmailThrottle, LoginIPThrottle, VerifyIPThrottle
from apps.accounts.forms import CodeForm, EmailForm
from schedkit.api.problems import Problem

BACKEND = "django.contrib.auth.backends.ModelBackend"


def safe_next(request, candidate: str | None) -> str:
    if candidate and url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return "/"


class _ThrottleProbe:
    """What the DRF throttles read from a request, for use from a plain Django view."""

    def __init__(self, request, email):
        self.META = request.META
        self.headers = request.headers
        self.data = {"email": email}


def _throttle_wait(request, email, throttles) -> int | None:
    for throttle_cls in throttles:
        throttle = throttle_cls()
        if not throttle.allow_request(_ThrottleProbe(request, email), None):
            return int(throttle.wait() or 60) + 1
    return None


@require_http_methods(["GET", "POST"])
def login_page(request):
    next_url = safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST" and "code" in request.POST:
        form = CodeForm(request.POST)
        if form.is_valid():
            wait = _throttle_wait(request, form.cleaned_data["email"], [VerifyIPThrottle])
            if wait:
                form.add_error(None, f"Too many attempts; try again in {wait} seconds.")
            else:
                try:
                    user = services.login_verify_code(email=form.cleaned_data["email"], code=form.cleaned_data["code"])
                except Problem as problem:
                    form.add_error("code", str(problem.detail))
                else:
                    login(request, user, backend=BACKEND)
                    return redirect(next_url)
        return render(request, "accounts/login.html", {"step": "code", "form": form, "next": next_url}, status=400)
    if request.method == "POST":
        form = EmailForm(request.POST)
        if form.is_valid():
            email = form.cleaned_data["email"]
            wait = _throttle_wait(request, email, [LoginIPThrottle, LoginEmailThrottle])
            if wait:
                form.add_error(None, f"Too many sign-in requests; try again in {wait} seconds.")
            else:
                services.login_start(email=email, ip=request.META.get("REMOTE_ADDR"), next_url=next_url)
                code_form = CodeForm(initial={"email": email, "next": next_url})
                return render(
                    request,
                    "accounts/login.html",
                    {"step": "code", "form": code_form, "email": email, "next": next_url},
                )
        return render(request, "accounts/login.html", {"step": "email", "form": form, "next": next_url}, status=400)
    form = EmailForm(initial={"next": next_url})
    return render(request, "accounts/login.html", {"step": "email", "form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
def magic_link(request):
    """GET shows a one-button page, POST signs in: mail scanners that prefetch links must not
    burn a single-use token."""
    token = request.POST.get("token") or request.GET.get("token", "")
    if request.method == "GET":
        return render(request, "accounts/link_confirm.html", {"token": token})
    try:
        user, next_url = services.login_verify_link(token=token)
    except Problem as problem:
        return render(request, "accounts/link_invalid.html", {"detail": problem.detail}, status=400)
    login(request, user, backend=BACKEND)
    return redirect(safe_next(request, next_url))


@require_POST
def logout_page(request):
    logout(request)
    return redirect("accounts:login")
