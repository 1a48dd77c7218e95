"""A table that test jobs write into, so a test can count every row a worker wrote."""
from django.db import models


class WrittenRow(models.Model):
    job_id = models.BigIntegerField(db_index=True)
    step = models.IntegerField()

    class Meta:
        app_label = "test_jobkinds"
