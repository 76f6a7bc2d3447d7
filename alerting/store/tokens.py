"""API tokens: each belongs to a user with one role; only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from alerting.store.db import session_factory, write_session
from alerting.store.models import ROLES, Token, User, utcnow

TOKEN_PREFIX = "pw_"
MIN_BOOTSTRAP_LENGTH = 12  # a configured value, not one we generate: refuse guessable ones like 'a'

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's user."""

    name: str
    role: str
    token_id: int


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@contextmanager
def _session(bind: Engine | Session | sessionmaker) -> Iterator[Session]:
    if isinstance(bind, Session):
        yield bind
        bind.commit()
        return
    factory = bind if isinstance(bind, sessionmaker) else session_factory(bind)
    with write_session(factory, serialize=False) as session:
        yield session


def _user(session: Session, name: str, role: str) -> User:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not name:
        raise ValueError("a token needs a user name")
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, role=role, created_at=utcnow())
        session.add(user)
        session.flush()
    elif user.role != role:
        raise ValueError(f"user {name!r} exists with role {user.role!r}, not {role!r}")
    return user


def create_token(bind: Engine | Session | sessionmaker, name: str, role: str) -> str:
    """A new token for user `name` (created with `role` if new); the value is returned once."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with _session(bind) as session:
        user = _user(session, name, role)
        session.add(Token(user_id=user.id, token_hash=hash_token(value), created_at=utcnow()))
    return value


def ensure_token(bind: Engine | Session | sessionmaker, name: str, role: str, value: str) -> bool:
    """Make `value` a valid token of user `name` (the configured bootstrap token), once.

    A token an admin revoked stays revoked: the value still sits in the config, so
    restoring it at each start would undo the revocation. Returns whether it is valid.
    """
    if len(value) < MIN_BOOTSTRAP_LENGTH:
        raise ValueError(
            f"api.bootstrap_token is {len(value)} characters; it needs at least {MIN_BOOTSTRAP_LENGTH} "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(24))')"
        )
    with _session(bind) as session:
        existing = session.scalar(select(Token).where(Token.token_hash == hash_token(value)))
        if existing is not None:
            if existing.revoked_at is not None:
                log.warning("api.bootstrap_token was revoked on %s and stays revoked; set a new one or remove it",
                            existing.revoked_at.isoformat())
                return False
            return True
        user = _user(session, name, role)
        session.add(Token(user_id=user.id, token_hash=hash_token(value), created_at=utcnow()))
    return True


def authenticate(session: Session, value: str) -> Principal | None:
    if not value:
        return None
    row = session.execute(
        select(Token.id, User.name, User.role)
        .join(User, Token.user_id == User.id)
        .where(Token.token_hash == hash_token(value), Token.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return Principal(name=row.name, role=row.role, token_id=row.id)


def list_tokens(session: Session) -> list[dict]:
    rows = session.execute(
        select(Token.id, User.name, User.role, Token.created_at, Token.revoked_at)
        .join(User, Token.user_id == User.id)
        .order_by(Token.id)
    ).all()
    return [
        {
            "id": r.id,
            "name": r.name,
            "role": r.role,
            "created_at": r.created_at.isoformat(),
            "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
        }
        for r in rows
    ]


def revoke_token(bind: Engine | Session | sessionmaker, token_id: int) -> bool:
    with _session(bind) as session:
        token = session.get(Token, token_id)
        if token is None:
            return False
        if token.revoked_at is None:
            token.revoked_at = utcnow()
        return True
