"""Streaming uploads with a size limit: chunks go to a temp file on disk, never all in memory,
and an upload over the limit stops with 413 as soon as the limit is passed."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from .exceptions import PayloadTooLarge


class SizeLimitedUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request: Any = None, *, limit_bytes: int) -> None:
        super().__init__(request)
        self.limit_bytes = limit_bytes
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self.limit_bytes:
            raise too_large(self.limit_bytes)
        return super().receive_data_chunk(raw_data, start)


class AnyUploadCapHandler(TemporaryFileUploadHandler):
    """The default for every request (FILE_UPLOAD_HANDLERS): no multipart body may stream more than
    the largest upload limit to disk. Views that take uploads install their own, tighter handler;
    this one covers the rest, e.g. a multipart POST to the sign-in page, which the CSRF check parses
    before any view runs. Over the cap: 400 (RequestDataTooBig), and the temp file is removed."""

    def _limit(self) -> int:
        from django.conf import settings

        return max(settings.MAX_UPLOAD_MB, settings.MAX_MODEL_UPLOAD_MB) * 1024 * 1024

    def handle_raw_input(self, input_data: Any, META: Any, content_length: int, boundary: Any,  # noqa: N803
                         encoding: Any = None) -> None:
        self.received = 0
        if content_length > self._limit() + 64 * 1024:
            raise RequestDataTooBig("The request body is larger than the largest upload Rasterlab takes.")

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self.received += len(raw_data)
        if self.received > self._limit():
            raise RequestDataTooBig("The upload is larger than the largest upload Rasterlab takes.")
        return super().receive_data_chunk(raw_data, start)


def too_large(limit_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"The file is larger than the upload limit of {limit_bytes // (1024 * 1024)} MB "
                           "(RASTERLAB_MAX_UPLOAD_MB).")


def install_upload_limit(request: Any, limit_bytes: int) -> None:
    """Reject by Content-Length first, then count bytes as they stream in."""
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > limit_bytes + 64 * 1024:  # multipart overhead allowance
        raise too_large(limit_bytes)
    request.upload_handlers = [SizeLimitedUploadHandler(request, limit_bytes=limit_bytes)]


class StreamedUploadMixin:
    """For DRF views taking multipart uploads: installs the size-limited handler before
    authentication, because session auth's CSRF check reads ``request.POST`` (and so parses the
    whole body with Django's default handlers) before the view method runs.

    Viewsets stream uploads on the actions in ``upload_actions``; plain APIViews on POST.
    """

    upload_limit_setting = "MAX_UPLOAD_MB"
    upload_actions: tuple[str, ...] = ("create",)

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        action = getattr(self, "action", None)
        if (action in self.upload_actions) if action is not None else request.method == "POST":
            from django.conf import settings

            install_upload_limit(request._request, getattr(settings, self.upload_limit_setting) * 1024 * 1024)
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
