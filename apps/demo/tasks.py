from celery import shared_task

from apps.demo import seed
from apps.orgs.models import Org


@shared_task(name="demo.beacons", ignore_result=True)
def demo_beacons() -> int:
    """Keeps the demo org's responders moving on the live map (embedded default only, see
    DEMO_BEACONS): a no-op unless seed_demo made the demo org."""
    org = Org.objects.filter(slug=seed.DEMO_ORG, is_active=True).first()
    return seed.beacons_ping(org) if org is not None else 0
