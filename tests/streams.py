"""Clients of the live streams for tests over real servers: an SSE frame reader, a websocket
message reader, and ORM calls from async test code."""

import asyncio
import json

import httpx


async def in_thread(func, **kwargs):
    """Run ORM code from async test code in a worker thread that closes its connection."""
    from django.db import connections

    def run():
        try:
            return func(**kwargs)
        finally:
            connections.close_all()

    return await asyncio.to_thread(run)


class SSE:
    """Reads frames off a streaming httpx response: {"id", "data", "retry", "comment"}."""

    def __init__(self, response: httpx.Response):
        self.response = response
        self.lines = response.aiter_lines()

    async def frame(self, timeout: float = 3.0) -> dict:
        """The next frame; StopAsyncIteration when the server ended the stream."""
        frame: dict = {}
        while True:
            line = await asyncio.wait_for(self.lines.__anext__(), timeout)
            if line == "":
                if frame:
                    return frame
                continue
            if line.startswith(":"):
                frame["comment"] = line[1:].strip()
            else:
                name, _, value = line.partition(":")
                frame[name] = value[1:] if value.startswith(" ") else value

    async def event(self, timeout: float = 3.0) -> dict:
        """The next frame that carries data (keepalives skipped)."""
        while True:
            frame = await self.frame(timeout)
            if "data" in frame:
                return frame | {"json": json.loads(frame["data"])}

    async def ended(self, timeout: float) -> list[dict]:
        """Read until the server ends the stream (within `timeout`); the data frames seen."""
        seen = []
        async with asyncio.timeout(timeout):
            while True:
                try:
                    frame = await self.frame(timeout)
                except StopAsyncIteration:
                    return seen
                if "data" in frame:
                    seen.append(json.loads(frame["data"]))


def sse_stream(http: httpx.AsyncClient, base_url: str, raw_key: str | None = None, **headers):
    if raw_key:
        headers["Authorization"] = f"Bearer {raw_key}"
    return http.stream("GET", f"{base_url}/v1/signals/stream", headers=headers, timeout=60)


async def next_of(ws, kind: str, timeout: float = 3.0) -> dict:
    """The next websocket message of this type (others skipped)."""
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message.get("type") == kind:
            return message
