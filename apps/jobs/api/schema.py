"""The request body of POST /api/jobs/ in /api/schema/: one schema per job kind, a union
discriminated on ``kind``, each with that kind's params declaration (apps.jobs.params.JobParams).

Built when the schema is generated (the apps register their kinds in ``ready()``); internal kinds
(started by uploads or by other jobs) stay out of it.
"""
from __future__ import annotations

from functools import cache

from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field
from rest_framework import serializers

from ..registry import JobKind, kinds


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))


def _kind_field(name: str) -> serializers.CharField:
    # A field class of its own: spectacular reads schema overrides from the class, and an inline enum
    # (not a ChoiceField) keeps seven one-value enum components out of the schema.
    cls = extend_schema_field({"type": "string", "enum": [name]})(type(f"{_camel(name)}Kind", (serializers.CharField,), {}))
    return cls(help_text=f"Always {name!r}.")  # type: ignore[no-any-return]


@cache
def _request_serializer(kind: JobKind) -> type[serializers.Serializer]:
    return type(f"{_camel(kind.name)}JobRequest", (serializers.Serializer,), {
        "__doc__": kind.description or kind.name,
        "__module__": __name__,
        "kind": _kind_field(kind.name),
        "project": serializers.IntegerField(help_text="The project the job runs in."),
        "params": kind.params(help_text=kind.params.__doc__),
    })


def job_request_serializers() -> dict[str, type[serializers.Serializer]]:
    return {kind.name: _request_serializer(kind) for kind in kinds() if not kind.internal}


def job_request_schema() -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(component_name="JobRequest", serializers=job_request_serializers,
                                      resource_type_field_name="kind")
