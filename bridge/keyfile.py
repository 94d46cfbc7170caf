"""The bridge identity key on disk: keystore and passphrase files, and unlocking them.

The key itself is encrypted by ``crypto.keystore`` (Web3 Secret Storage v3); this module only
does the file I/O around it: private files (0600, written atomically, never silently
overwritten) and finding the passphrase (environment, passphrase file, or a prompt).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import secrets
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bridge.config import Settings

__all__ = [
    "KeyfileError",
    "generate_passphrase",
    "keystore_address",
    "load_identity_key",
    "read_keystore",
    "resolve_passphrase",
    "write_keystore",
    "write_private_file",
]


class KeyfileError(RuntimeError):
    """The identity key cannot be read, unlocked or written; the message says what to do."""


def write_private_file(path: Path, text: str, *, overwrite: bool = False) -> None:
    """Write ``text`` to ``path`` readable by the owner only (0600).

    The file never exists with looser permissions, not even briefly: it is created 0600 in the
    same directory and renamed into place. Without ``overwrite`` an existing file is an error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise FileExistsError(f"{path} already exists")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the target appeared meanwhile, where replace() would clobber it.
            os.link(tmp, path)
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_keystore(
    path: Path,
    private_key: bytes,
    passphrase: SecretStr,
    *,
    overwrite: bool = False,
    scrypt_n: int | None = None,
) -> dict[str, Any]:
    """Encrypt ``private_key`` with ``passphrase`` into a v3 keystore file at ``path``
    (scrypt; ``scrypt_n`` None = crypto.keystore's default work factor)."""
    from crypto.keystore import encrypt_key

    keystore = encrypt_key(private_key, passphrase.get_secret_value(), iterations=scrypt_n)
    write_private_file(path, json.dumps(keystore, indent=2) + "\n", overwrite=overwrite)
    return keystore


def read_keystore(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise KeyfileError(
            f"no identity keystore at {path}: run `parley init` or set [identity] keystore"
        ) from None
    except (OSError, ValueError) as exc:
        raise KeyfileError(f"cannot read the identity keystore {path}: {exc}") from None
    if not isinstance(data, dict):
        raise KeyfileError(f"{path} is not a keystore (expected a JSON object)")
    return data


def keystore_address(keystore: dict[str, Any]) -> str | None:
    """The address a v3 keystore declares in clear (no passphrase needed), EIP-55 cased."""
    raw = keystore.get("address")
    if not isinstance(raw, str):
        return None
    try:
        body = bytes.fromhex(raw.removeprefix("0x"))
    except ValueError:
        return None
    if len(body) != 20:
        return None
    from crypto.keys import checksum_address

    return checksum_address(body)


def generate_passphrase() -> SecretStr:
    # 32 random bytes, URL-safe so that it survives env files and shells unquoted.
    return SecretStr(secrets.token_urlsafe(32))


def _read_passphrase_file(path: Path) -> SecretStr:
    try:
        mode = path.stat().st_mode
        text = path.read_text("utf-8")
    except OSError as exc:
        raise KeyfileError(f"cannot read the passphrase file {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(
            f"warning: the passphrase file {path} is readable by other users; chmod 600 it",
            file=sys.stderr,
        )
    # Editors add a final newline; a passphrase never ends in one.
    passphrase = text.rstrip("\r\n")
    if not passphrase:
        raise KeyfileError(f"the passphrase file {path} is empty")
    return SecretStr(passphrase)


def resolve_passphrase(
    settings: Settings,
    *,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> SecretStr:
    """The keystore passphrase: PARLEY_KEY_PASSPHRASE (already in ``settings``), else
    [identity] passphrase_file, else a prompt when stdin is a terminal, else an error."""
    if settings.identity.passphrase is not None:
        return settings.identity.passphrase
    if settings.identity.passphrase_file is not None:
        return _read_passphrase_file(settings.identity.passphrase_file)
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        return SecretStr(prompt(f"Passphrase for {settings.keystore_path}: "))
    raise KeyfileError(
        "no passphrase for the identity keystore: set PARLEY_KEY_PASSPHRASE, or "
        "[identity] passphrase_file, or run on a terminal to be prompted"
    )


def load_identity_key(
    settings: Settings,
    *,
    interactive: bool | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> bytes:
    """Read and decrypt the bridge identity key named by ``settings``."""
    from crypto.keystore import KeystoreError, decrypt_key

    keystore = read_keystore(settings.keystore_path)
    passphrase = resolve_passphrase(settings, interactive=interactive, prompt=prompt)
    try:
        return decrypt_key(keystore, passphrase.get_secret_value())
    except KeystoreError as exc:
        raise KeyfileError(f"cannot unlock {settings.keystore_path}: {exc}") from None
