"""Factories and org-isolation harness registrations for the signals app."""

from django.core.files.base import ContentFile
from django.utils import timezone

from apps.orgs.models import Role
from apps.signals.models import Beacon, PushSubscription, Signal
from tests import tenancy
from tests.factories import MembershipFactory

# A 1×1 PNG: the smallest real image a capture can carry.
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@tenancy.register(Signal)
def make_signal(org, membership=None, **fields):
    membership = membership or MembershipFactory(org=org, role=Role.MEMBER)
    signal = Signal(org=org, membership=membership, user=membership.user, **fields)
    if not fields:
        signal.type = Signal.Type.CAPTURE
        signal.capture_content_type = "image/png"
        signal.capture_extension = ".png"
        signal.capture_size = len(PNG_1PX)
        signal.capture.save("harness.png", ContentFile(PNG_1PX), save=False)
    signal.save()
    return signal


@tenancy.register(Beacon)
def make_beacon(org, membership=None):
    membership = membership or MembershipFactory(org=org, role=Role.MEMBER)
    return Beacon.objects.create(
        org=org, membership=membership, user=membership.user, started_at=timezone.now(), lat=52.5, lng=13.4
    )


@tenancy.register(PushSubscription)
def make_push_subscription(org, user=None, endpoint="https://push.example.test/sub/harness"):
    user = user or MembershipFactory(org=org, role=Role.MEMBER).user
    return PushSubscription.objects.create(
        org=org, user=user, endpoint=endpoint, p256dh="B" + "A" * 86, auth="c2VjcmV0c2VjcmV0MTI"
    )
