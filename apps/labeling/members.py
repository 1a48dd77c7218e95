"""Who is who in a project: find a user by name or e-mail, and invite one who has no account yet
(an account is made with a one-time password the owner passes on; no mail is sent)."""
from __future__ import annotations

import re
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backend.api.exceptions import InvalidInput


def find_user(name_or_email: str) -> Any | None:
    """The user with this username, else the one with this e-mail (case-insensitive)."""
    model = get_user_model()
    value = name_or_email.strip()
    user = model.objects.filter(username=value).first()
    if user is None and "@" in value:
        matches = list(model.objects.filter(email__iexact=value)[:2])
        if len(matches) > 1:
            raise InvalidInput(f"username: several accounts use {value!r}; give the username instead.")
        user = matches[0] if matches else None
    return user


def _free_username(email: str) -> str:
    model = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", email.split("@")[0])[:140] or "user"
    name, n = base, 1
    while model.objects.filter(username=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


def invite_user(email: str) -> tuple[Any, str]:
    """A new account for ``email``; returns it with its one-time password."""
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"username: {email!r} is neither a user nor an e-mail address to invite.") from None
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_user(username=_free_username(email), email=email, password=password)
    return user, password
