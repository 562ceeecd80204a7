from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Identity"

    def ready(self):
        from apps.accounts.services import api_key_cache_invalidate
        from apps.orgs.hooks import on_access_changed

        on_access_changed(api_key_cache_invalidate)
