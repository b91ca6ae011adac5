"""The outbox and inbox tables, added to every service's own database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel


class OutboxMessage(SQLModel, table=True):
    """An event committed with the change that caused it, waiting for the relay."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_unpublished",
            "id",
            sqlite_where=text("published_at IS NULL"),
            postgresql_where=text("published_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    stream: str = Field(max_length=128)
    event_type: str = Field(max_length=128)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    published_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class InboxMessage(SQLModel, table=True):
    """An event whose effects are committed: a second delivery of it changes nothing."""

    __tablename__ = "inbox"

    event_id: str = Field(max_length=64, primary_key=True)
    consumer_group: str = Field(max_length=64)
    event_type: str = Field(max_length=128)
    processed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
