"""A test run uses only Redis databases that are empty or that an earlier test run marked as its own.

Flushing or consuming a database that another Rasterlab (or anything else) uses would take its queued
jobs or drop its data: such a database makes the run stop with a message instead.
"""
from __future__ import annotations

MARKER = "rasterlab:test-suite-owned"


class RedisNotOurs(RuntimeError):
    pass


def claim_redis_db(url: str) -> None:
    """Mark the database at ``url`` as the test suite's, or raise when it holds someone else's keys."""
    import redis

    client = redis.Redis.from_url(url)
    if client.exists(MARKER):
        return
    size = client.dbsize()
    if size:
        raise RedisNotOurs(
            f"REDIS_URL {url.split('@')[-1]} holds {size} keys that no test run created: the tests would empty "
            "and consume its queues. Point REDIS_URL at an empty database number (e.g. redis://host:6379/13)."
        )
    client.set(MARKER, "1")

