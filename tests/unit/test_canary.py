"""The secret search used by the canary tests finds a secret however it was wrapped."""

import base64
import json
import pickle

from tests.support.canary import holds_secret

SECRET = "canary-0123456789abcdef"


def test_finds_the_secret_raw_and_in_base64_of_either_alphabet_at_any_offset():
    header = json.dumps({"username": "u", "password": SECRET}).encode()
    assert holds_secret(b"xx" + SECRET.encode() + b"yy", SECRET)
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for prefix in (b"", b"X", b"Xa", b"Xab"):
            assert holds_secret(b"\x00" + prefix + encode(header) + b"\x00", SECRET)
    assert holds_secret(pickle.dumps({"X-Registry-Auth": base64.urlsafe_b64encode(header).decode()}), SECRET)


def test_does_not_find_what_is_not_there():
    assert not holds_secret(pickle.dumps({"password": "something-else"}), SECRET)
    assert not holds_secret(base64.b64encode(b"canary-but-not-the-secret"), SECRET)
