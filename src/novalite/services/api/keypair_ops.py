"""Key pairs: validate and fingerprint public keys, generate a pair when asked."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from novalite.db.api_models import KeyPair
from novalite.runtime import Runtime
from novalite.services.api.errors import bad_request

_SSH_TYPES = {"ssh-rsa", "ssh-ed25519", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
              "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}


def fingerprint(public_key: str) -> str:
    """The MD5 colon fingerprint Nova shows, after checking the key is a well-formed OpenSSH key."""
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in _SSH_TYPES:
        raise bad_request("Keypair data is invalid: public_key must be an OpenSSH public key "
                          "('ssh-ed25519 AAAA... comment' or 'ssh-rsa AAAA... comment')")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("Keypair data is invalid: the key's base64 body does not decode") from None
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        raise bad_request(f"Keypair data is invalid: the key body is not a {parts[0]} key")
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 (a fingerprint, not security)
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def generate(comment: str) -> tuple[str, str]:
    """A new RSA key pair as (OpenSSH public key, PEM private key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return f"{public} {comment}", private


async def find_for_boot(runtime: Runtime, user_id: str, name: str) -> KeyPair:
    """The user's key pair named at boot, or a 400 that says so."""
    async with runtime.require_api_db()() as session:
        key = await session.scalar(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))
    if key is None:
        raise bad_request(f"Invalid key_name provided: key pair '{name}' does not exist for this user.")
    return key
