"""A read-model consumer in a process of its own, for tests that kill it.

    python -m tests.integration.messaging.consumer_process DB_URL REDIS_URL CONSUMER_NAME \
        [--delay-s S] [--batch-size N] [--claim-idle-ms MS] [--claim-interval-s S]

Runs a GroupConsumer (reader and reclaimer) on `sinergi.programs` for the test read model
until SIGTERM (a graceful stop) or SIGKILL. The tables must exist already.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from shared.messaging.connection import connect
from shared.observability.metrics import Metrics
from shared.persistence.engine import make_engine
from tests.integration.messaging.readmodel import group_consumer, make_handler


async def main(args: argparse.Namespace) -> None:
    engine = make_engine(args.db_url)
    redis = connect(args.redis_url)
    consumer = group_consumer(
        redis,
        make_handler(engine, delay_s=args.delay_s),
        Metrics("consumer-process"),
        name=args.consumer,
        batch_size=args.batch_size,
        claim_idle_ms=args.claim_idle_ms,
        claim_interval_s=args.claim_interval_s,
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await asyncio.gather(consumer.run(stop), consumer.reclaim_forever(stop))
    finally:
        await redis.aclose()
        engine.dispose()


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("redis_url")
    parser.add_argument("consumer")
    parser.add_argument("--delay-s", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--claim-idle-ms", type=int, default=60_000)
    parser.add_argument("--claim-interval-s", type=float, default=60.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parse()))
