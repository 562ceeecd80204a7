"""The Prometheus multiprocess folder (PROMETHEUS_MULTIPROC_DIR): it must exist before the
first metric is defined, since prometheus_client opens one file per process and metric there
at import. Settings call this first; every module defining metrics calls it again."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def ensure_multiprocess_dir() -> None:
    """Create the folder if it is missing, or say clearly why it cannot be used."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"PROMETHEUS_MULTIPROC_DIR={folder!r} does not exist and cannot be created ({exc.strerror}). "
            "Create it (writable by this process) or unset the variable."
        ) from exc
    if not os.access(folder, os.W_OK):
        raise ImproperlyConfigured(f"PROMETHEUS_MULTIPROC_DIR={folder!r} is not writable by this process.")
