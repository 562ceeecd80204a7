from .env import env_list, env_str
from .runtime import EMBEDDED

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "json")  # json | text

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "schedkit.ops.logging.RequestContextFilter"},
        "mask_pii": {"()": "schedkit.ops.logging.MaskPIIFilter"},
    },
    "formatters": {
        "json": {"()": "schedkit.ops.logging.JSONFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "mask_pii"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},  # 4xx are answers, not incidents
        "uvicorn.access": {"level": "WARNING"},
    },
}
if EMBEDDED:
    # One console for web, worker and beat: the periodic tasks (every 30 s) stay quiet so the
    # sign-in email with its code stands out. TASK_LOG_LEVEL=INFO shows them again. (Not
    # CELERY_LOG_LEVEL: Celery itself writes that variable, as a number, when a worker starts.)
    for _name in ("celery.beat", "celery.worker.strategy", "celery.app.trace", "celery.worker.consumer"):
        LOGGING["loggers"][_name] = {"level": env_str("TASK_LOG_LEVEL", "WARNING")}
    LOGGING["loggers"]["kombu.connection"] = {"level": "ERROR"}  # "no hostname" for memory://, every start

# /metrics: with a token, only `Authorization: Bearer <METRICS_TOKEN>`; without, only these networks.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list(
    "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
)
