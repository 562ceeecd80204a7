"""Magic link + 6-digit code sign-in: API, HTML page, admin."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import LoginCode, User

pytestmark = pytest.mark.django_db(transaction=True)

EMAIL = "Responder@Example.test"


def request_code(client, email=EMAIL, **extra):
    response = client.post("/v1/auth/login", {"email": email}, format="json", **extra)
    assert response.status_code == 202, response.content
    body = mail.outbox[-1].body
    code = re.search(r"code is (\d{6})", body).group(1)
    link = re.search(r"(http\S+/v1/auth/link\?\S+)", body).group(1)
    return code, link


def verify(client, code, email=EMAIL):
    return client.post("/v1/auth/verify", {"email": email, "code": code}, format="json")


def test_code_signs_in_and_creates_the_account():
    client = APIClient()
    code, _ = request_code(client)
    assert mail.outbox[-1].to == [EMAIL.lower()]
    response = verify(client, code)
    assert response.status_code == 200, response.content
    assert response.json()["email"] == EMAIL.lower()
    assert client.get("/v1/auth/me").json()["email"] == EMAIL.lower()
    assert User.objects.filter(email=EMAIL.lower()).count() == 1


def test_code_is_stored_hashed():
    code, link = request_code(APIClient())
    challenge = LoginCode.objects.get()
    token = link.split("token=")[1].split("&")[0]
    stored = " ".join(str(v) for v in LoginCode.objects.values().get().values())
    assert code not in challenge.code_hash and token not in stored
    assert len(challenge.code_hash) == 64 and len(challenge.link_hash) == 64


def test_code_is_single_use():
    client = APIClient()
    code, _ = request_code(client)
    assert verify(client, code).status_code == 200
    second = verify(APIClient(), code)
    assert second.status_code == 400
    assert second.json()["code"] == "LOGIN_CODE_INVALID"


def test_code_expires_after_15_minutes():
    client = APIClient()
    code, _ = request_code(client)
    challenge = LoginCode.objects.get()
    assert timedelta(minutes=14) < challenge.expires_at - timezone.now() <= timedelta(minutes=15)
    LoginCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = verify(client, code)
    assert response.status_code == 400 and response.json()["code"] == "LOGIN_CODE_EXPIRED"


def test_five_wrong_codes_kill_the_code():
    client = APIClient()
    code, _ = request_code(client)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for attempt in range(5):
        response = verify(client, wrong)
        assert response.json()["code"] == "LOGIN_CODE_INVALID", attempt
    assert LoginCode.objects.get().attempts == 5
    response = verify(client, code)  # the right code, too late
    assert response.status_code == 400 and response.json()["code"] == "LOGIN_CODE_EXHAUSTED"
    assert response["Content-Type"] == "application/problem+json"


def test_new_code_supersedes_the_old_one():
    client = APIClient()
    first, _ = request_code(client)
    second, _ = request_code(client)
    if first != second:
        assert verify(client, first).status_code == 400
    assert verify(client, second).status_code == 200


@override_settings(
    THROTTLE_RATES={
        "login_email": "3/15min",
        "login_ip": "100/15min",
        "verify_ip": "100/15min",
        "anon": "1000/min",
        "user": "1000/min",
    }
)
def test_login_is_rate_limited_per_email():
    client = APIClient()
    for _ in range(3):
        assert client.post("/v1/auth/login", {"email": EMAIL}, format="json").status_code == 202
    response = client.post("/v1/auth/login", {"email": EMAIL.upper()}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(response["Retry-After"]) <= 900
    # another address from the same client is still fine
    assert client.post("/v1/auth/login", {"email": "other@example.test"}, format="json").status_code == 202


@override_settings(
    THROTTLE_RATES={
        "login_email": "100/15min",
        "login_ip": "2/15min",
        "verify_ip": "100/15min",
        "anon": "1000/min",
        "user": "1000/min",
    }
)
def test_login_is_rate_limited_per_ip():
    client = APIClient()
    for n in range(2):
        assert client.post("/v1/auth/login", {"email": f"a{n}@example.test"}, format="json").status_code == 202
    assert client.post("/v1/auth/login", {"email": "z@example.test"}, format="json").status_code == 429
    other_ip = client.post("/v1/auth/login", {"email": "z@example.test"}, format="json", REMOTE_ADDR="10.9.8.7")
    assert other_ip.status_code == 202


def test_bad_login_input_is_a_problem():
    client = APIClient()
    response = client.post("/v1/auth/login", {"email": "not-an-email"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "email"
    response = client.post("/v1/auth/verify", {"email": EMAIL, "code": "12ab"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "code"
    assert not LoginCode.objects.exists()


def test_magic_link_signs_in_once_and_survives_prefetch():
    client = Client()
    code, link = request_code(APIClient())
    path = link.replace("http://127.0.0.1:8000", "")
    assert client.get(path).status_code == 200  # a mail scanner's GET does not burn the link
    token = path.split("token=")[1]
    response = client.post("/v1/auth/link", {"token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    again = Client().post("/v1/auth/link", {"token": token})
    assert again.status_code == 400
    assert verify(APIClient(), code).status_code == 400  # the code of a used challenge is dead too


def test_html_login_page_flow():
    client = Client()
    page = client.get("/login/?next=/admin/")
    assert page.status_code == 200 and b"Email me a code" in page.content
    response = client.post("/login/", {"email": EMAIL, "next": "/admin/"})
    assert response.status_code == 200 and b"We sent a 6-digit code" in response.content
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    wrong = client.post("/login/", {"email": EMAIL, "code": "000000" if code != "000000" else "111111", "next": "/"})
    assert wrong.status_code == 400 and b"Wrong code" in wrong.content
    response = client.post("/login/", {"email": EMAIL, "code": code, "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_html_login_rejects_open_redirect():
    client = Client()
    client.post("/login/", {"email": EMAIL, "next": "https://evil.example/"})
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    response = client.post("/login/", {"email": EMAIL, "code": code, "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_admin_uses_the_same_flow_without_passwords():
    staff = User.objects.create_superuser("boss@example.test")
    assert not staff.has_usable_password()
    client = Client()
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    response = client.get(response["Location"])
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")
    client.post("/login/", {"email": "boss@example.test", "next": "/admin/"})
    code = re.search(r"code is (\d{6})", mail.outbox[-1].body).group(1)
    response = client.post("/login/", {"email": "boss@example.test", "code": code, "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/orgs/org/").status_code == 200


def test_non_staff_cannot_use_admin():
    User.objects.create_user("plain@example.test")
    client = Client()
    client.force_login(User.objects.get(email="plain@example.test"))
    assert client.get("/admin/").status_code == 302
