from django.db import models


class Item(models.Model):
    """200 rows in 4 groups; the DRF view reads one group's first 50 by an index."""

    group = models.IntegerField()
    name = models.CharField(max_length=100)
    email = models.CharField(max_length=200)
    role = models.CharField(max_length=20)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "bare"
        db_table = "bench_bare_item"
        indexes = [models.Index(fields=["group", "id"])]
