#!/usr/bin/env python3
"""An independent implementation of tfsnap's sealed file format, written from README.md
("Encrypted local copies") only, with Python's `cryptography` (Debian: python3-cryptography).

    unseal.py open KEYFILE SEALED OUT   authenticate SEALED and write its plaintext to OUT
    unseal.py seal KEYFILE PLAIN OUT    seal PLAIN into OUT (for tfsnapd decrypt to open)
    unseal.py fingerprint KEYFILE       print the key's fingerprint

Exit status: 0 ok, 1 the file does not follow the format or fails authentication, 2 usage.
"""
import hashlib
import os
import struct
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"TFSNAPC\x00"
HEADER = struct.Struct(">8sBBH8s12sQ")  # 40 bytes, big-endian
TAG_SIZE = 16


def load_key(path):
    data = open(path, "rb").read()
    if len(data) == 32:
        return data
    text = data[:-1] if len(data) == 65 and data.endswith(b"\n") else data
    if len(text) == 64:
        return bytes.fromhex(text.decode("ascii"))
    raise ValueError(f"{path}: not 32 raw bytes or 64 hex characters")


def fingerprint(key):
    return hashlib.sha256(b"tfsnap-key-id" + key).digest()[:8]


def unseal(key, blob):
    if len(blob) < HEADER.size + TAG_SIZE:
        raise ValueError("shorter than a header and a tag")
    magic, version, algorithm, reserved, fp, nonce, length = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("bad magic")
    if (version, algorithm, reserved) != (1, 1, 0):
        raise ValueError(f"version {version} algorithm {algorithm} reserved {reserved}")
    if fp != fingerprint(key):
        raise ValueError(f"sealed with key {fp.hex()}, not {fingerprint(key).hex()}")
    if len(blob) != HEADER.size + length + TAG_SIZE:
        raise ValueError(f"{len(blob)} bytes, header says {length} bytes of plaintext")
    header = blob[: HEADER.size]
    # AESGCM takes the ciphertext with the tag appended, exactly as the file stores them
    return AESGCM(key).decrypt(nonce, blob[HEADER.size :], header)


def seal(key, plaintext):
    nonce = os.urandom(12)
    header = HEADER.pack(MAGIC, 1, 1, 0, fingerprint(key), nonce, len(plaintext))
    return header + AESGCM(key).encrypt(nonce, plaintext, header)


def main(argv):
    if len(argv) == 3 and argv[1] == "fingerprint":
        print(fingerprint(load_key(argv[2])).hex())
        return 0
    if len(argv) != 5 or argv[1] not in ("open", "seal"):
        print(__doc__, file=sys.stderr)
        return 2
    key = load_key(argv[2])
    data = open(argv[3], "rb").read()
    try:
        out = unseal(key, data) if argv[1] == "open" else seal(key, data)
    except (ValueError, InvalidTag) as e:
        print(f"unseal.py: {argv[3]}: {type(e).__name__} {e}", file=sys.stderr)
        return 1
    with open(argv[4], "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
