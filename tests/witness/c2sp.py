"""An independent implementation, in Python, of what a log client needs of
C2SP: RFC 6962 tree hashes and consistency proofs, signed notes
(c2sp.org/signed-note), tlog-checkpoint bodies, vkeys, and Ed25519
cosignatures (c2sp.org/tlog-cosignature, type 0x04, cosignature/v1).

Written from the specifications, not from the Go code the witnesses and the
proof-of-concept client use, so that a test which verifies their bytes with
it pins down the exact format. Ed25519 comes from `cryptography` (pinned in
tests/witness/requirements.txt).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

EM_DASH = "\u2014"  # every signature line starts with "— " (U+2014, space)
SIG_ED25519 = 0x01  # signed-note Ed25519 (what golang.org/x/mod/sumdb/note makes)
SIG_COSIG_V1 = 0x04  # tlog-cosignature Ed25519 cosignature/v1


# ---- RFC 6962 --------------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def tree_hash(leaf_hashes: list[bytes]) -> bytes:
    """MTH over leaf hashes (RFC 6962 2.1): split at the largest power of
    two smaller than n."""
    n = len(leaf_hashes)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return leaf_hashes[0]
    k = 1 << ((n - 1).bit_length() - 1)
    return node_hash(tree_hash(leaf_hashes[:k]), tree_hash(leaf_hashes[k:]))


def poc_leaf(i: int) -> bytes:
    """Leaf i of the proof-of-concept client's log (tests/witness/poc)."""
    return f"auditchain-poc leaf {i}\n".encode()


def poc_root(n: int) -> bytes:
    return tree_hash([leaf_hash(poc_leaf(i)) for i in range(n)])


def verify_consistency(first: int, second: int, first_hash: bytes, second_hash: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 2.1.4.2 (the same proofs as RFC 6962 2.1.2)."""
    if first > second:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    if first & (first - 1) == 0:  # exact power of two
        proof = [first_hash, *proof]
    if not proof:
        return False
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ---- checkpoints and notes ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...]


def parse_checkpoint(body: bytes) -> Checkpoint:
    """A tlog-checkpoint note body: origin, decimal size, base64 root, then
    zero or more non-empty extension lines; every line ends in a newline."""
    text = body.decode()
    assert text.endswith("\n"), "checkpoint body must end in a newline"
    lines = text[:-1].split("\n")
    assert len(lines) >= 3, f"checkpoint needs three lines: {text!r}"
    origin, size, root, *ext = lines
    assert size == str(int(size)) and int(size) >= 0, f"bad size line {size!r}"
    raw = base64.b64decode(root, validate=True)
    assert len(raw) == 32, "root must be 32 bytes"
    assert all(ext), "extension lines must not be empty"
    return Checkpoint(origin, int(size), raw, tuple(ext))


@dataclasses.dataclass(frozen=True)
class SigLine:
    name: str
    key_id: int
    sig: bytes  # after the 4-byte key ID

    @staticmethod
    def parse(line: str) -> "SigLine":
        prefix = EM_DASH + " "
        assert line.startswith(prefix), f"not a signature line: {line!r}"
        name, b64 = line[len(prefix):].split(" ")
        raw = base64.b64decode(b64, validate=True)
        assert len(raw) > 4
        return SigLine(name, struct.unpack(">I", raw[:4])[0], raw[4:])


def split_note(note: bytes) -> tuple[bytes, list[SigLine]]:
    """A signed note: text (ending in a newline), a blank line, then one or
    more signature lines, each ending in a newline."""
    i = note.rindex(b"\n\n")
    text, sigs = note[: i + 1], note[i + 2:].decode()
    assert sigs.endswith("\n")
    return text, [SigLine.parse(s) for s in sigs[:-1].split("\n")]


def parse_sig_lines(body: bytes) -> list[SigLine]:
    """An add-checkpoint 200 response body: signature lines only."""
    text = body.decode()
    assert text.endswith("\n"), f"response must end in a newline: {text!r}"
    return [SigLine.parse(s) for s in text[:-1].split("\n")]


# ---- keys ---------------------------------------------------------------------

def key_id(name: str, sig_type: int, public: bytes) -> int:
    """signed-note key ID: SHA-256(name || "\\n" || type || key)[:4]."""
    return struct.unpack(">I", hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4])[0]


@dataclasses.dataclass(frozen=True)
class VKey:
    name: str
    key_id: int
    sig_type: int
    public: bytes

    @staticmethod
    def parse(vkey: str) -> "VKey":
        """<name>+<8 hex digits key ID>+<base64(type || public key)>."""
        name, hid, b64 = vkey.strip().split("+", 2)  # base64 may hold "+"
        assert len(hid) == 8
        raw = base64.b64decode(b64, validate=True)
        v = VKey(name, int(hid, 16), raw[0], raw[1:])
        assert len(v.public) == 32, "Ed25519 keys only"
        assert key_id(v.name, v.sig_type, v.public) == v.key_id, f"key ID does not match: {vkey}"
        return v

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(bytes([self.sig_type]) + self.public).decode()}"


def cosig_vkey(name: str, public: bytes) -> str:
    """The vkey of an Ed25519 cosigner (type 0x04)."""
    return str(VKey(name, key_id(name, SIG_COSIG_V1, public), SIG_COSIG_V1, public))


def _ed25519_ok(public: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(sig, msg)
        return True
    except InvalidSignature:
        return False


def cosignature_message(timestamp: int, checkpoint_body: bytes) -> bytes:
    """The exact bytes a cosignature/v1 signs."""
    return b"cosignature/v1\ntime %d\n" % timestamp + checkpoint_body


def verify_note_sig(vkey: VKey, text: bytes, s: SigLine) -> bool:
    """A plain Ed25519 note signature (type 0x01) over the note text."""
    assert vkey.sig_type == SIG_ED25519
    return s.name == vkey.name and s.key_id == vkey.key_id and len(s.sig) == 64 and _ed25519_ok(vkey.public, s.sig, text)


def verify_cosig(vkey: VKey, checkpoint_body: bytes, s: SigLine) -> int | None:
    """Checks one cosignature line; returns its timestamp, or None."""
    assert vkey.sig_type == SIG_COSIG_V1
    if s.name != vkey.name or s.key_id != vkey.key_id or len(s.sig) != 8 + 64:
        return None
    (ts,) = struct.unpack(">Q", s.sig[:8])
    if ts == 0 or ts >= 1 << 63:
        return None
    return ts if _ed25519_ok(vkey.public, s.sig[8:], cosignature_message(ts, checkpoint_body)) else None


# ---- add-checkpoint request bodies ----------------------------------------------

@dataclasses.dataclass
class Request:
    old: int
    proof: list[bytes]
    note: bytes  # the signed checkpoint

    @staticmethod
    def parse(body: bytes) -> "Request":
        head, note = body.split(b"\n\n", 1)
        lines = head.decode().split("\n")
        assert lines[0].startswith("old ")
        return Request(int(lines[0][4:]), [base64.b64decode(x, validate=True) for x in lines[1:]], note)

    def encode(self) -> bytes:
        return (f"old {self.old}\n" + "".join(base64.b64encode(h).decode() + "\n" for h in self.proof)
                + "\n").encode() + self.note

    @property
    def checkpoint_body(self) -> bytes:
        return split_note(self.note)[0]
