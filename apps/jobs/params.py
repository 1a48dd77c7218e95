"""Job params declared once: each job kind's params are a ``JobParams`` serializer whose fields give
the types, bounds and defaults, and whose ``validate`` does the checks that need the database.

The same class validates a POST /api/jobs/ (a 400 ``params.<field>: ...`` naming the field), fills
the defaults that the job stores, and is the kind's schema in /api/schema/ (apps.jobs.api.schema).
The fields here are strict where JSON clients are sloppy: "4" is not a number and 1 is not true,
except ``Flag(lenient=True)``, which reads "false"/"0" the way forms and query strings send them.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from backend.api.exceptions import InvalidInput
from backend.api.params import MAX_ID, parse_bool

MAX_NAME = 200


class _NullIsDefault:
    """JSON null means "use the default" (what the hand-written validators did with ``params.get``)."""

    default_error_messages = {"required": "is required.", "null": "must not be null."}

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is None and getattr(self, "default", empty) is not empty:
            return True, self.get_default()  # type: ignore[attr-defined]
        return super().validate_empty_values(data)  # type: ignore[misc]


def _optional(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A field with a default is optional; a None default makes it nullable in the schema too."""
    if "default" in kwargs:
        kwargs.setdefault("required", False)
        if kwargs["default"] is None:
            kwargs.setdefault("allow_null", True)
    return kwargs


class Whole(_NullIsDefault, serializers.IntegerField):
    """A whole number in [min_value, max_value]; 2.0 is 2, "2" and true are not numbers."""

    default_error_messages = {"range": "must be a whole number from {low} to {high}, got {value!r}."}

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **_optional(kwargs))

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, float) and data.is_integer():
            data = int(data)
        if isinstance(data, bool) or not isinstance(data, int) or not self.min_value <= data <= self.max_value:
            self.fail("range", low=self.min_value, high=self.max_value, value=_shown(data))
        return data


class Id(Whole):
    """A database id (1 .. 2**63-1); whether it names something of the project is ``validate``'s job."""

    default_error_messages = {"range": "must be an id (a whole number from {low} to {high}), got {value!r}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdList(serializers.ListField):
    """1 to ``max_length`` ids, duplicates dropped (order kept); a lone id is a list of one."""

    default_error_messages = {"ids": "must be a list of 1 to {high} {what} ids of this project.",
                              "required": "is required.", "null": "must not be null."}

    def __init__(self, *, what: str, max_length: int, **kwargs: Any) -> None:
        self.what = what
        super().__init__(child=Id(), min_length=1, max_length=max_length, **kwargs)

    def to_internal_value(self, data: Any) -> list[int]:
        if isinstance(data, int) and not isinstance(data, bool):
            data = [data]
        if (not isinstance(data, list) or not 1 <= len(data) <= (self.max_length or 1)
                or not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_ID for v in data)):
            self.fail("ids", high=self.max_length, what=self.what)
        return list(dict.fromkeys(data))


class Number(_NullIsDefault, serializers.FloatField):
    """A finite number in the range; ``above=True`` excludes ``min_value`` itself."""

    default_error_messages = {"number": "must be a number, got {value!r}.",
                              "range": "must be a number {span}, got {value!r}."}

    def __init__(self, *, min_value: float | None = None, max_value: float | None = None, above: bool = False,
                 **kwargs: Any) -> None:
        self.above = above
        super().__init__(min_value=min_value, max_value=max_value, **_optional(kwargs))

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or not math.isfinite(data):
            self.fail("number", value=_shown(data))
        low, high = self.min_value, self.max_value
        if (low is not None and (data < low or (self.above and data <= low))) or (high is not None and data > high):
            self.fail("range", span=self._span(), value=data)
        return float(data)

    def _span(self) -> str:
        low, high = self.min_value, self.max_value
        lower = f"above {low}" if self.above else f"from {low}"
        if low is None:
            return f"up to {high}"
        return lower if high is None else f"{lower} up to {high}"


class Flag(_NullIsDefault, serializers.BooleanField):
    """true or false; ``lenient`` also reads "true"/"false"/"1"/"0" (as forms and query strings send)."""

    default_error_messages = {"flag": "must be true or false, not {value!r}."}

    def __init__(self, *, lenient: bool = False, **kwargs: Any) -> None:
        self.lenient = lenient
        super().__init__(**_optional(kwargs))

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if self.lenient:
            try:
                return parse_bool(data, "")
            except InvalidInput:
                pass
        self.fail("flag", value=_shown(data))
        raise AssertionError  # fail() raised


class Choice(_NullIsDefault, serializers.ChoiceField):
    """One of ``choices``; ``upper=True`` accepts any case ("gpu" is GPU)."""

    default_error_messages = {"choice": "must be one of {choices}, not {value!r}."}

    def __init__(self, choices: tuple[str, ...] | list[str], *, upper: bool = False, **kwargs: Any) -> None:
        self.upper = upper
        super().__init__(choices=list(choices), **_optional(kwargs))

    def to_internal_value(self, data: Any) -> str:
        value = data.strip().upper() if self.upper and isinstance(data, str) else data
        if not isinstance(value, str) or value not in self.choices:
            self.fail("choice", choices=", ".join(self.choices), value=_shown(data))
        return value


class Name(serializers.CharField):
    """A title for what the job makes; blank or absent means the kind's default, made in ``validate``."""

    default_error_messages = {"text": "must be text."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "Name of the output (default: made from the inputs' names).")
        super().__init__(required=False, allow_null=True, allow_blank=True, max_length=None, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("text")
        return " ".join(data.split())[:MAX_NAME]


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "A GeoJSON geometry in EPSG:4326 (lon, lat), e.g. a Polygon."})
class Geometry(serializers.JSONField):
    """A GeoJSON geometry, checked in ``validate`` (each kind says which types it takes)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, default=None, **kwargs)


@extend_schema_field({"type": "object", "additionalProperties": True})
class Options(serializers.JSONField):
    """A JSON object (a model's arguments): checked against the model in ``validate``."""

    default_error_messages = {"object": "must be an object of {what}."}

    def __init__(self, *, what: str = "options", **kwargs: Any) -> None:
        self.what = what
        super().__init__(required=False, default=dict, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if data in (None, ""):
            return {}
        if not isinstance(data, dict):
            self.fail("object", what=self.what)
        return dict(data)


@extend_schema_field(OpenApiTypes.ANY)
class Passthrough(serializers.Field):
    """Any JSON value, kept as given (internal kinds' bookkeeping, e.g. a part's window)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class JobParams(serializers.Serializer):
    """Base of every kind's params. ``reject_unknown``: a name that is no field is a 400 (typos)."""

    reject_unknown: ClassVar[bool] = True

    @property
    def job(self) -> Any:
        """The ValidationContext (user, project_id) of the job being started."""
        return self.context["job"]

    @classmethod
    def clean(cls, params: Any, ctx: Any) -> dict[str, Any]:
        """Cleaned params (defaults filled in) or InvalidInput ``params.<field>: <what to fix>``."""
        if not isinstance(params, dict):
            raise InvalidInput("params: must be a JSON object.")
        if cls.reject_unknown:
            known = sorted(cls().fields)
            unknown = sorted(set(params) - set(known))
            if unknown:
                raise InvalidInput(f"params.{unknown[0]}: unknown parameter; expected some of {', '.join(known)}.")
        serializer = cls(data=params, context={"job": ctx})
        if not serializer.is_valid():
            raise InvalidInput(first_error(serializer.errors))
        return dict(serializer.validated_data)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Each optional field's default (None where it is computed from the inputs)."""
        out: dict[str, Any] = {}
        for name, field in cls().fields.items():
            if field.default is not empty:
                out[name] = field.get_default()
        return out


def first_error(errors: Any, path: str = "params") -> str:
    """``params.<field>: <message>`` for the first error of a (nested) serializer error map."""
    while isinstance(errors, dict) and errors:
        key, errors = next(iter(errors.items()))
        if key != "non_field_errors":
            path = f"{path}.{key}" if not isinstance(key, int) else f"{path}[{key}]"
        if isinstance(errors, list) and errors and isinstance(errors[0], (dict, list)):
            errors = errors[0]
    message = errors[0] if isinstance(errors, list) and errors else errors
    return f"{path}: {message}"


def _shown(value: Any) -> Any:
    """A value as an error message quotes it: long strings and containers cut short."""
    if isinstance(value, (str, list, dict)):
        text = str(value)
        return text if len(text) <= 40 else text[:40] + "…"
    return value
