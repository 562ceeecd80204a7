"""Operations: the Prometheus multiprocess folder exists before any metric is defined."""

from django.core.exceptions import ImproperlyConfigured

from schedkit.ops.multiproc import ensure_multiprocess_dir

from .env import env_str

PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
try:
    ensure_multiprocess_dir()
except ImproperlyConfigured as exc:
    raise SystemExit(f"SchedKit refuses to start: {exc}") from exc
