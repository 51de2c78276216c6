"""Payloads hashed the way seed 000's SDK code hashes them, by real Python.

Prints one JSON line per case: the bodies an application could emit for
the payload (``json.dumps(payload)`` as seed 000 does, and variants: raw
UTF-8, indented), ``json.dumps(payload, sort_keys=True)`` and its SHA-256,
which is what ``audit.content_hash`` carries. tests/content_hash.rs checks
that auditchain's re-serialisation gives the same bytes and hash.

    python3 tests/python/content_hash_payloads.py [SEED]
"""

import hashlib
import json
import math
import random
import struct
import sys


def cases(rng):
    yield "seed 000 event", {
        "actor": "alice@example.com",
        "action": "role.update",
        "resource": "iam/user/7/role",
        "details": {"request_id": "grpc-0007", "ip": "10.0.0.7", "attempt": 2, "note": "naïve café ✓",
                    "ctx": {"tenant": "acme", "tags": ["audit", "soc2"], "ratio": 0.25}},
        "timestamp": 1795320660123456789,
    }
    yield "non-ASCII text", {"ü": "Grüße", "日本": "語", "emoji": "😀 🎉", "rtl": "שלום", "mixed": "a\u0301 \u00e9 \u2028 \u2029 \ufeff",
                             "astral key \U0001F600": 1, "\uff61 bmp key": 2}
    yield "escapes", {"q": "\"quoted\" \\ back", "ctl": "".join(chr(c) for c in range(0, 32)) + "\x7f", "slash": "a/b"}
    yield "lone surrogate", {"s": "\ud800 alone", "t": "\udfff"}
    yield "floats", {"a": 0.1, "b": 1e16, "c": -0.0, "d": 1e-5, "e": 0.0001, "f": 1e15, "g": 123.0, "h": 1.5e300,
                     "i": 5e-324, "j": 2.2250738585072014e-308, "k": 1.7976931348623157e308, "l": 0.30000000000000004,
                     "m": 100.0, "n": 1234567890123456.7, "o": -2.5e-7, "p": 9007199254740993.0, "q": 1e22, "r": 1e21}
    yield "special floats", {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
    yield "big ints", {"big": 123456789012345678901234567890, "neg": -98765432109876543210, "i64max": 2**63 - 1,
                       "past": 2**64 + 1, "zero": 0, "huge": 10**300}
    yield "nested", {"l": [1, [2, [3, [4, {"deep": [None, True, False]}]]]], "empty": {}, "none": [], "d": {"b": {"a": {}}}}
    yield "top-level list", [3, "two", {"one": 1.0}]
    yield "top-level string", "just text"
    yield "duplicate-looking keys", {"a": 1, "A": 2, "a ": 3, "á": 4, "": 5}
    yield "random floats", [struct.unpack("<d", rng.randbytes(8))[0] for _ in range(400)]
    yield "random decimals", [rng.random() * 10 ** rng.randint(-30, 30) for _ in range(400)]
    yield "random ints", [rng.randint(-(10**40), 10**40) for _ in range(100)]
    yield "random text", {"".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(8)): "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(20)) for _ in range(20)}


def main():
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    for name, payload in cases(rng):
        try:
            sorted_json = json.dumps(payload, sort_keys=True)
        except ValueError:
            continue
        bodies = [json.dumps(payload), json.dumps(payload, ensure_ascii=False), json.dumps(payload, indent=2)]
        # A body must be valid UTF-8 text to travel in OTLP; drop variants
        # that hold lone surrogates unescaped.
        bodies = [b for b in bodies if all(not 0xD800 <= ord(c) <= 0xDFFF for c in b)]
        print(json.dumps({
            "name": name,
            "bodies": bodies,
            "sorted": sorted_json,
            "content_hash": hashlib.sha256(sorted_json.encode()).hexdigest(),
        }))


main()
