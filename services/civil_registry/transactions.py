"""Asynchronous search transactions: pending/done results and callback delivery."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

import httpx

__all__ = ["CallbackSender", "Transaction", "Transactions"]

log = logging.getLogger(__name__)


@dataclass
class Transaction:
    client: str
    transaction_id: str
    correlation_id: str
    created: float
    result: bytes | None = None  # the serialised on-search message, once done


class Transactions:
    """Transactions by (client, transaction id): bounded, oldest dropped first."""

    def __init__(self, capacity: int, ttl_s: float) -> None:
        self._capacity = capacity
        self._ttl_s = ttl_s
        self._items: OrderedDict[tuple[str, str], Transaction] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self) -> None:
        deadline = time.monotonic() - self._ttl_s
        items = self._items
        while items:
            oldest = next(iter(items.values()))
            if oldest.created > deadline and len(items) <= self._capacity:
                return
            items.popitem(last=False)

    def open(self, client: str, transaction_id: str, correlation_id: str) -> Transaction:
        txn = Transaction(client, transaction_id, correlation_id, time.monotonic())
        self._items[(client, transaction_id)] = txn
        self._expire()
        return txn

    def get(self, client: str, transaction_id: str) -> Transaction | None:
        self._expire()
        return self._items.get((client, transaction_id))


class CallbackSender:
    """POSTs on-search results to the caller's ``callback_url``, retrying with backoff."""

    def __init__(self, attempts: int, backoff_s: float, timeout_s: float) -> None:
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._client = httpx.AsyncClient(timeout=timeout_s)

    async def send(self, url: str, body: bytes, transaction_id: str) -> bool:
        headers = {"Content-Type": "application/json", "X-Transaction-ID": transaction_id}
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.is_success:
                    return True
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            log.warning(
                "callback attempt %d/%d failed: %s",
                attempt,
                self._attempts,
                reason,
                extra={"transaction_id": transaction_id},
            )
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        log.error("callback gave up", extra={"transaction_id": transaction_id})
        return False

    async def aclose(self) -> None:
        await self._client.aclose()
