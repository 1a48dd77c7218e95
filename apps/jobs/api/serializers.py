from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..events import job_state
from ..models import Job


class JobCreateSerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=64)
    project = serializers.IntegerField()
    params = serializers.JSONField(required=False, default=dict)


class JobSerializer(serializers.ModelSerializer):
    class Meta:
        model = Job
        fields = ["id"]

    def to_representation(self, instance: Job) -> dict[str, Any]:
        data = job_state(instance)
        data["log"] = instance.log
        return data
