from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import Membership, Project, Raster
from ..permissions import project_role


class ProjectSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()
    classes = serializers.JSONField(required=False)

    class Meta:
        model = Project
        fields = ["id", "name", "description", "classes", "role", "created_at", "updated_at"]
        read_only_fields = ["id", "role", "created_at", "updated_at"]

    def get_role(self, project: Project) -> str | None:
        role = project_role(self.context["request"].user, project.pk)
        return role.value if role else None


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(help_text="A username, or an e-mail address of an account")
    role = serializers.ChoiceField(choices=Membership.Role.choices, required=False)
    invite = serializers.BooleanField(required=False, default=False,
                                      help_text="Make an account for an e-mail that has none (answer has its password)")

    def to_representation(self, membership: Membership) -> dict[str, Any]:
        body = {"username": membership.user.get_username(), "role": membership.role, "email": membership.user.email}
        password = getattr(membership, "invited_password", None)
        if password:
            body["password"] = password  # shown once, to the owner who invited
        return body


class RasterUploadSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    file = serializers.FileField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)


class RasterUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=255)
    acquired = serializers.DateTimeField(required=False, allow_null=True,
                                         help_text="When the imagery was captured (ISO 8601); null clears it")


class RasterSerializer(serializers.ModelSerializer):
    bounds = serializers.ListField(child=serializers.FloatField(), read_only=True)
    resolution = serializers.SerializerMethodField()
    job = serializers.IntegerField(source="ingest_job_id", read_only=True)

    class Meta:
        model = Raster
        fields = ["id", "project", "name", "kind", "status", "error", "crs", "bounds", "width", "height", "count",
                  "dtype", "nodata", "resolution", "statistics", "classes", "job", "source_job_id", "file_size",
                  "acquired", "created_at"]
        read_only_fields = fields

    def get_resolution(self, raster: Raster) -> list[float] | None:
        if raster.resolution_x is None:
            return None
        return [raster.resolution_x, raster.resolution_y]
