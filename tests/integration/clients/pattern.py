# SPDX-License-Identifier: MIT
"""The deterministic body tls_server.js serves on GET /bytes/N: byte i = ((i % 251) + (i >> 14))
& 0xff, not periodic at the 16 KiB capture-chunk size, so a lost, doubled or reordered chunk
changes the sha256. Stdlib only (imported by clients that must not import ssl early)."""

BLOCK = 16384
_rows = None


def pattern(n):
    global _rows
    if _rows is None:
        row0 = bytes(j % 251 for j in range(BLOCK + 251))
        _rows = [row0.translate(bytes((b + k) & 0xff for b in range(256))) for k in range(256)]
    out = bytearray()
    off = k = 0
    while off < n:
        s = off % 251
        out += _rows[k & 0xff][s:s + min(BLOCK, n - off)]
        off += BLOCK
        k += 1
    return bytes(out)
