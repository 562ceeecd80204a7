"""UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits. Time-ordered, so primary
keys sort by creation and cursor pagination on `id` is stable. Python 3.14 ships uuid.uuid7;
this is the same layout for 3.11, with a per-process counter keeping ids monotonic inside
one millisecond."""

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # 12-bit counter overflow: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x7FF  # random start, room to grow
        _last_ms = ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= counter << 64  # rand_a: monotonic counter
    value |= 0b10 << 62  # variant
    value |= rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID) -> int:
    return value.int >> 80
