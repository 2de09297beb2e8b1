"""AES-256-GCM payload codec.

Workflow inputs, signals and results carry emotional and financial data; Temporal persists them
in its history. Encrypting every payload keeps that data unreadable to anyone with access to the
Temporal database or the Web UI but not the key. Payloads that are *not* encrypted (plain JSON
typed into the `temporal` CLI or the Web UI) pass through decode untouched, so operators can still
signal and update workflows by hand.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
NONCE_BYTES = 12


def key_id_for(key: bytes) -> str:
    """A short fingerprint recorded with each payload, so a rotated key can be chosen on decode."""
    return hashlib.sha256(key).hexdigest()[:16]


def decode_key(b64_key: str) -> bytes:
    key = base64.b64decode(b64_key)
    if len(key) != 32:
        raise ValueError("ECS_PAYLOAD_KEY must be base64 of exactly 32 bytes (AES-256)")
    return key


class EncryptionCodec(PayloadCodec):
    def __init__(self, key: bytes, *, old_keys: Sequence[bytes] = ()) -> None:
        self._key_id = key_id_for(key)
        self._encryptor = AESGCM(key)
        self._decryptors = {key_id_for(k): AESGCM(k) for k in (*old_keys, key)}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._encryptor.encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, "encryption-key-id": self._key_id.encode()},
            data=nonce + sealed,
        )

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding", b"") != ENCODING:
            return payload
        key_id = payload.metadata.get("encryption-key-id", b"").decode()
        aead = self._decryptors.get(key_id)
        if aead is None:
            raise ValueError(f"payload encrypted with unknown key id {key_id!r}")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        decoded = Payload()
        decoded.ParseFromString(aead.decrypt(nonce, sealed, None))
        return decoded
