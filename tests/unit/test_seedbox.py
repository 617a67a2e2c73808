"""Tests of the seed box: sealing, key files and rotation while the server runs."""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from kinko.domain.errors import InvalidInput
from kinko.domain.secrets import Seed
from kinko.store.keyring import Keyring, KeyringError, key_id_for
from kinko.store.seedbox import SealedSeed, SeedBox, SeedUnavailable

SERIAL = "KNK-0001-2345"
SEED = Seed(bytes(range(20)))


def _key(fill: int) -> bytes:
    return bytes([fill]) * 32


def _b64url(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def _material(key: bytes) -> list[str]:
    """Every way a key could be spelled in a message."""
    return [
        _b64url(key),
        base64.b64encode(key).decode().rstrip("="),
        key.hex(),
        repr(key),
    ]


def _assert_no_material(text: str, key: bytes) -> None:
    for spelling in _material(key):
        assert spelling not in text


def _write_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc), encoding="utf-8")
    path.chmod(0o600)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# Sealing and opening


def test_a_sealed_seed_opens_to_the_same_seed() -> None:
    box = SeedBox(Keyring.generate())
    sealed = box.seal(SERIAL, SEED)
    assert box.open(SERIAL, sealed) == SEED
    assert sealed.key_id == box.current_key_id
    assert len(sealed.nonce) == 12
    assert len(sealed.ciphertext) == len(SEED.reveal()) + 16


def test_the_ciphertext_does_not_contain_the_seed() -> None:
    box = SeedBox(Keyring.generate())
    sealed = box.seal(SERIAL, SEED)
    assert SEED.reveal() not in sealed.ciphertext
    assert SEED.reveal()[:8] not in sealed.ciphertext


def test_each_seal_uses_a_fresh_nonce() -> None:
    box = SeedBox(Keyring.generate())
    first, second = box.seal(SERIAL, SEED), box.seal(SERIAL, SEED)
    assert first.nonce != second.nonce
    assert first.ciphertext != second.ciphertext


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda s: dataclasses.replace(s, ciphertext=_flip_last_byte(s.ciphertext)),
            id="ciphertext",
        ),
        pytest.param(
            lambda s: dataclasses.replace(
                s, ciphertext=bytes([s.ciphertext[0] ^ 1]) + s.ciphertext[1:]
            ),
            id="ciphertext-body",
        ),
        pytest.param(lambda s: dataclasses.replace(s, nonce=_flip_last_byte(s.nonce)), id="nonce"),
        pytest.param(lambda s: dataclasses.replace(s, nonce=s.nonce[:8]), id="short-nonce"),
        pytest.param(lambda s: dataclasses.replace(s, ciphertext=s.ciphertext[:10]), id="short"),
    ],
)
def test_a_tampered_seed_does_not_open(tamper: Callable[[SealedSeed], SealedSeed]) -> None:
    box = SeedBox(Keyring.generate())
    sealed = box.seal(SERIAL, SEED)
    with pytest.raises(SeedUnavailable) as caught:
        box.open(SERIAL, tamper(sealed))
    assert caught.value.code == "seed_unavailable"


def test_a_seed_does_not_open_under_another_serial() -> None:
    box = SeedBox(Keyring.generate())
    sealed = box.seal(SERIAL, SEED)
    with pytest.raises(SeedUnavailable):
        box.open("KNK-0001-2346", sealed)


def test_a_seed_under_an_unknown_key_does_not_open_and_the_error_names_the_key() -> None:
    sealed = SeedBox(Keyring.generate()).seal(SERIAL, SEED)
    with pytest.raises(SeedUnavailable, match=sealed.key_id):
        SeedBox(Keyring.generate()).open(SERIAL, sealed)


def test_a_serial_that_is_not_ascii_is_invalid_input() -> None:
    box = SeedBox(Keyring.generate())
    with pytest.raises(InvalidInput):
        box.seal("KNK-０００１", SEED)


# Keyring invariants


def test_a_key_id_is_a_fingerprint_of_the_key() -> None:
    assert key_id_for(_key(1)) == key_id_for(_key(1))
    assert key_id_for(_key(1)) != key_id_for(_key(2))
    assert len(key_id_for(_key(1))) == 16
    assert Keyring.from_key(_key(1)).current_id == key_id_for(_key(1))


def test_a_keyring_refuses_a_current_id_it_does_not_hold() -> None:
    with pytest.raises(KeyringError, match="not in the keyring"):
        Keyring(keys={key_id_for(_key(1)): _key(1)}, current_id=key_id_for(_key(2)))


def test_a_keyring_refuses_a_key_of_the_wrong_length() -> None:
    short = bytes(16)
    with pytest.raises(KeyringError, match="16 bytes"):
        Keyring(keys={key_id_for(short): short}, current_id=key_id_for(short))


def test_a_keyring_refuses_an_id_that_is_not_the_keys_fingerprint() -> None:
    with pytest.raises(KeyringError, match="fingerprint"):
        Keyring(keys={key_id_for(_key(2)): _key(1)}, current_id=key_id_for(_key(2)))


def test_the_repr_of_a_keyring_shows_ids_but_no_key_material() -> None:
    keyring = Keyring.from_key(_key(7)).with_new_key()
    text = repr(keyring)
    for key_id, key in keyring.keys.items():
        assert key_id in text
        _assert_no_material(text, key)
    assert str(keyring) == text


def test_the_keys_of_a_keyring_cannot_be_changed_in_place() -> None:
    keyring = Keyring.from_key(_key(1))
    with pytest.raises(TypeError):
        keyring.keys[key_id_for(_key(2))] = _key(2)  # type: ignore[index]


# Keys from the environment


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda k: base64.urlsafe_b64encode(k).decode(), id="base64url-padded"),
        pytest.param(lambda k: base64.urlsafe_b64encode(k).decode().rstrip("="), id="base64url"),
        pytest.param(lambda k: base64.b64encode(k).decode(), id="base64-padded"),
        pytest.param(lambda k: base64.b64encode(k).decode().rstrip("=") + "\n", id="base64-nl"),
    ],
)
def test_a_key_from_the_environment_may_be_any_base64(encode: Callable[[bytes], str]) -> None:
    key = bytes([0xFB, 0xFF, 0xBE]) * 10 + b"\xfe\xff"  # bytes that spell '-', '_', '+', '/'
    keyring = Keyring.from_env_value(encode(key))
    assert keyring.keys == {key_id_for(key): key}


def test_a_key_from_the_environment_must_be_32_bytes() -> None:
    value = base64.urlsafe_b64encode(_key(3)[:31]).decode()
    with pytest.raises(KeyringError, match="31 bytes") as caught:
        Keyring.from_env_value(value)
    assert value.rstrip("=") not in str(caught.value)


def test_a_key_from_the_environment_must_be_base64() -> None:
    with pytest.raises(KeyringError, match="base64"):
        Keyring.from_env_value("not*base64!")


# Key files


def test_a_created_key_file_is_private_in_a_private_directory(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "kinko" / "seed.keys"
    keyring, created = Keyring.load_or_create(path)
    assert created
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    assert Keyring.load_or_create(path) == (keyring, False)


def test_a_saved_key_file_has_the_documented_format(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    keyring = Keyring.from_key(_key(1)).with_new_key()
    keyring.save(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["version"] == 1
    assert doc["current"] == keyring.current_id
    assert doc["keys"][key_id_for(_key(1))] == _b64url(_key(1))
    assert Keyring.load(path) == keyring


def test_saving_replaces_the_key_file_and_keeps_it_private(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    Keyring.from_key(_key(1)).save(path)
    rotated = Keyring.load(path).with_new_key()
    rotated.save(path)
    assert Keyring.load(path) == rotated
    assert _mode(path) == 0o600


def test_load_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    Keyring.from_key(_key(1)).save(path)
    path.chmod(0o644)
    with pytest.raises(KeyringError) as caught:
        Keyring.load(path)
    message = str(caught.value)
    assert str(path) in message
    assert "chmod 600" in message
    assert "0644" in message
    _assert_no_material(message, _key(1))


def test_load_says_when_the_key_file_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    with pytest.raises(KeyringError, match="does not exist") as caught:
        Keyring.load(path)
    assert str(path) in str(caught.value)


def _key_file_doc(current: str, keys: dict[str, str], version: int = 1) -> dict[str, object]:
    return {"version": version, "current": current, "keys": keys}


def _corrupt_json(path: Path) -> bytes:
    key = _key(5)
    text = json.dumps(_key_file_doc(key_id_for(key), {key_id_for(key): _b64url(key)}))
    path.write_text(text[:-5], encoding="utf-8")  # cut off mid-file
    path.chmod(0o600)
    return key


def _wrong_length(path: Path) -> bytes:
    key = _key(5)[:31]
    _write_json(path, _key_file_doc(key_id_for(key), {key_id_for(key): _b64url(key)}))
    return key


def _mismatched_fingerprint(path: Path) -> bytes:
    key = _key(5)
    other_id = key_id_for(_key(6))
    _write_json(path, _key_file_doc(other_id, {other_id: _b64url(key)}))
    return key


def _bad_base64(path: Path) -> bytes:
    key = _key(5)
    text = _b64url(key)
    _write_json(
        path, _key_file_doc(key_id_for(key), {key_id_for(key): text[:20] + "*" + text[21:]})
    )
    return key


def _wrong_version(path: Path) -> bytes:
    key = _key(5)
    _write_json(path, _key_file_doc(key_id_for(key), {key_id_for(key): _b64url(key)}, version=2))
    return key


def _current_missing(path: Path) -> bytes:
    key = _key(5)
    _write_json(path, _key_file_doc(key_id_for(_key(6)), {key_id_for(key): _b64url(key)}))
    return key


def _not_utf8(path: Path) -> bytes:
    key = b"\xff" * 32
    path.write_bytes(b'{"version": 1, "keys": "' + key + b'"}')
    path.chmod(0o600)
    return key


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        pytest.param(_corrupt_json, "not valid JSON", id="corrupt-json"),
        pytest.param(_wrong_length, "31 bytes", id="wrong-length"),
        pytest.param(_mismatched_fingerprint, "fingerprint", id="mismatched-fingerprint"),
        pytest.param(_bad_base64, "not valid base64url", id="bad-base64"),
        pytest.param(_wrong_version, "not version 1", id="wrong-version"),
        pytest.param(_current_missing, "not in the keyring", id="current-missing"),
        pytest.param(_not_utf8, "not UTF-8", id="not-utf8"),
    ],
)
def test_load_says_what_is_wrong_without_quoting_the_key(
    tmp_path: Path, spoil: Callable[[Path], bytes], expected: str
) -> None:
    path = tmp_path / "seed.keys"
    key = spoil(path)
    with pytest.raises(KeyringError) as caught:
        Keyring.load(path)
    message = str(caught.value)
    assert expected in message
    assert str(path) in message
    _assert_no_material(message, key)
    assert caught.value.__cause__ is None  # no chained exception quoting the file either


def test_load_or_create_reads_an_existing_file_and_does_not_replace_it(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    keyring = Keyring.generate()
    keyring.save(path)
    before = path.stat().st_ino
    assert Keyring.load_or_create(path) == (keyring, False)
    assert path.stat().st_ino == before


def test_load_or_create_does_not_paper_over_a_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    _corrupt_json(path)
    with pytest.raises(KeyringError, match="not valid JSON"):
        Keyring.load_or_create(path)


# Rotation


def test_a_seed_sealed_under_an_old_key_opens_after_rotation_and_needs_resealing() -> None:
    old = Keyring.generate()
    sealed = SeedBox(old).seal(SERIAL, SEED)
    rotated = old.with_new_key()
    box = SeedBox(rotated)
    assert set(rotated.keys) == set(old.keys) | {rotated.current_id}
    assert rotated.current_id != old.current_id
    assert box.open(SERIAL, sealed) == SEED
    assert box.needs_rotation(sealed)
    assert not box.needs_rotation(box.seal(SERIAL, box.open(SERIAL, sealed)))


def test_without_keys_refuses_to_drop_the_current_key() -> None:
    keyring = Keyring.generate().with_new_key()
    with pytest.raises(KeyringError, match="current"):
        keyring.without_keys([keyring.current_id])


def test_without_keys_drops_retired_keys_and_refuses_unknown_ids() -> None:
    old = Keyring.generate()
    rotated = old.with_new_key()
    assert rotated.without_keys([old.current_id]) == Keyring(
        keys={rotated.current_id: rotated.keys[rotated.current_id]},
        current_id=rotated.current_id, pruned_ids=frozenset({old.current_id}),
    )
    with pytest.raises(KeyringError, match="no such keys"):
        rotated.without_keys(["0123456789abcdef"])


def test_a_box_on_a_key_file_seals_under_a_key_rotated_by_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seed.keys"
    Keyring.load_or_create(path)
    box = SeedBox(Keyring.load(path), key_file=path)
    first = box.seal(SERIAL, SEED)

    rotated = Keyring.load(path).with_new_key()  # what `kinko keys rotate` does
    rotated.save(path)

    second = box.seal(SERIAL, SEED)
    assert first.key_id != rotated.current_id
    assert second.key_id == rotated.current_id
    assert box.current_key_id == rotated.current_id
    assert box.open(SERIAL, first) == SEED
    assert box.open(SERIAL, second) == SEED


def test_a_box_on_a_key_file_opens_seeds_under_a_key_it_did_not_have_at_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seed.keys"
    Keyring.load_or_create(path)
    box = SeedBox(Keyring.load(path), key_file=path)
    box.seal(SERIAL, SEED)  # the box has read the file once

    rotated = Keyring.load(path).with_new_key()
    rotated.save(path)
    sealed_elsewhere = SeedBox(rotated).seal(SERIAL, SEED)  # by another server process

    assert box.open(SERIAL, sealed_elsewhere) == SEED


def test_a_box_without_a_key_file_does_not_learn_new_keys(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    keyring, _ = Keyring.load_or_create(path)
    box = SeedBox(keyring)
    rotated = keyring.with_new_key()
    rotated.save(path)
    box.reload()
    assert box.current_key_id == keyring.current_id
    with pytest.raises(SeedUnavailable):
        box.open(SERIAL, SeedBox(rotated).seal(SERIAL, SEED))


def test_reload_reads_a_key_file_that_dropped_retired_keys(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    old, _ = Keyring.load_or_create(path)
    sealed_old = SeedBox(old).seal(SERIAL, SEED)
    rotated = old.with_new_key()
    rotated.save(path)
    box = SeedBox(rotated, key_file=path)
    assert box.open(SERIAL, sealed_old) == SEED

    rotated.without_keys([old.current_id]).save(path)
    box.reload()
    with pytest.raises(SeedUnavailable, match=old.current_id):
        box.open(SERIAL, sealed_old)


def test_a_key_file_that_went_bad_stops_sealing_with_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    keyring, _ = Keyring.load_or_create(path)
    box = SeedBox(keyring, key_file=path)
    sealed = box.seal(SERIAL, SEED)
    path.chmod(0o644)
    os.utime(path, ns=(0, 0))  # a changed stat makes the box re-read the file
    with pytest.raises(KeyringError, match="chmod 600"):
        box.seal(SERIAL, SEED)
    assert box.open(SERIAL, sealed) == SEED  # keys already loaded still work


def test_sealing_from_many_threads_during_a_rotation_loses_no_seed(tmp_path: Path) -> None:
    path = tmp_path / "seed.keys"
    Keyring.load_or_create(path)
    box = SeedBox(Keyring.load(path), key_file=path)
    sealed: list[SealedSeed] = []
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def seal_many() -> None:
        start.wait()
        try:
            for _ in range(200):
                sealed.append(box.seal(SERIAL, SEED))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=seal_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    start.wait()
    for _ in range(3):
        Keyring.load(path).with_new_key().save(path)
    for thread in threads:
        thread.join()

    assert errors == []
    final = SeedBox(Keyring.load(path))
    assert all(final.open(SERIAL, s) == SEED for s in sealed)
    assert box.seal(SERIAL, SEED).key_id == final.current_key_id


def test_a_box_knows_its_keys_and_learns_a_key_rotated_in_by_another_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "seed.keys"
    keyring, _ = Keyring.load_or_create(path)
    box = SeedBox(keyring, key_file=path)
    assert box.knows(keyring.current_id)
    assert not box.knows(key_id_for(_key(7)))

    rotated = keyring.with_new_key()
    rotated.save(path)
    assert box.knows(rotated.current_id)


def test_a_box_without_its_key_file_knows_only_the_keys_it_was_given() -> None:
    keyring = Keyring.from_key(_key(1))
    box = SeedBox(keyring)
    assert box.knows(keyring.current_id)
    assert not box.knows(key_id_for(_key(2)))


# --- the audit events' MAC keys -------------------------------------------------------------


def test_the_audit_mac_key_is_derived_with_hkdf_and_is_not_the_seed_key() -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    from kinko.store.seedbox import AUDIT_MAC_INFO

    keyring = Keyring.from_key(_key(1))
    box = SeedBox(keyring)
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                   info=AUDIT_MAC_INFO).derive(_key(1))
    key_id, tag = box.audit_mac(b"event")
    assert key_id == keyring.current_id
    assert tag == hmac.digest(derived, b"event", "sha256")
    assert tag != hmac.digest(_key(1), b"event", "sha256")
    assert box.check_audit_mac(key_id, b"event", tag) is True
    assert box.check_audit_mac(key_id, b"event!", tag) is False
    assert box.check_audit_mac("0123456789abcdef", b"event", tag) is None


def test_a_pruned_key_is_remembered_in_the_key_file_and_old_files_load_without_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "master.key"
    old = Keyring.generate()
    rotated = old.with_new_key()
    rotated.without_keys([old.current_id]).save(path)

    loaded = Keyring.load(path)
    assert loaded.pruned_ids == {old.current_id}
    assert loaded.with_new_key().pruned_ids == {old.current_id}
    box = SeedBox(loaded, key_file=path)
    assert box.audit_key_pruned(old.current_id) and not box.audit_key_pruned("0" * 16)

    document = json.loads(path.read_text())
    del document["pruned"]
    path.write_text(json.dumps(document))
    assert Keyring.load(path).pruned_ids == frozenset()


def test_a_box_macs_under_the_key_another_process_made_current(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    keyring, _ = Keyring.load_or_create(path)
    box = SeedBox(keyring, key_file=path)
    assert box.audit_mac(b"x")[0] == keyring.current_id
    rotated = keyring.with_new_key()
    rotated.save(path)
    assert box.audit_mac(b"x")[0] == rotated.current_id
