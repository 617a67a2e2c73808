"""The token file on the device: seeds encrypted, a clear error for every kind of damage."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keyring.backends import null as null_keyring

from kinko.domain.secrets import Seed
from kinko_token.errors import (
    InsecurePermissions,
    InvalidPin,
    KeyringUnavailable,
    PinRequired,
    TokenNotFound,
    UnsupportedVersion,
    VaultDamaged,
    VaultError,
    WrongPin,
)
from kinko_token.vault import KEYRING_SERVICE, Pin, Vault, VaultFile, default_data_dir

from .conftest import PIN, MemoryKeyring, new_seed, token_info


def _file_json(vault_file: VaultFile) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(vault_file.path.read_text("utf-8"))
    return loaded


def _write_json(vault_file: VaultFile, document: object) -> None:
    vault_file.path.write_text(json.dumps(document), "utf-8")


def _one_line(error: pytest.ExceptionInfo[Exception]) -> str:
    message = str(error.value)
    assert "\n" not in message and message.strip() == message and message
    return message


# --- round trips -----------------------------------------------------------------------------


def test_a_pin_protected_file_gives_back_the_tokens_and_seeds(pin_vault: Vault) -> None:
    info, seed = token_info(), new_seed()
    pin_vault.add(info, seed)

    reopened = VaultFile(pin_vault.file.directory).unlock(Pin(PIN))

    assert reopened.tokens == (info,)
    assert reopened.current == info
    assert reopened.seed(info.serial) == seed
    assert reopened.pin_protected


def test_the_seed_appears_nowhere_in_the_file_in_any_encoding(pin_vault: Vault) -> None:
    seed = new_seed()
    pin_vault.add(token_info(), seed)
    raw = seed.reveal()
    text = pin_vault.file.path.read_bytes()
    forms = {
        raw,
        raw.hex().encode(), raw.hex().upper().encode(),
        base64.b32encode(raw), base64.b32encode(raw).rstrip(b"="),
        base64.b64encode(raw), base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw), base64.urlsafe_b64encode(raw).rstrip(b"="),
    }
    for form in forms:
        assert form not in text
        assert form.lower() not in text.lower()


def test_the_file_is_0600_in_a_0700_directory_and_no_temporary_file_is_left(
    pin_vault: Vault,
) -> None:
    pin_vault.add(token_info(), new_seed())
    pin_vault.add(token_info(), new_seed())

    assert stat.S_IMODE(pin_vault.file.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(pin_vault.file.directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in pin_vault.file.directory.iterdir()) == [
        ".tokens.lock", "tokens.json",
    ]


def test_the_directory_is_0700_even_under_a_permissive_umask(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    old = os.umask(0o000)
    try:
        file = VaultFile(tmp_path / "a" / "b", keyring_backend=memory_keyring)
        file.create()
    finally:
        os.umask(old)
    assert stat.S_IMODE(file.directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(file.path.stat().st_mode) == 0o600


def test_a_keyring_protected_file_opens_without_a_pin(
    keyring_file: VaultFile, memory_keyring: MemoryKeyring
) -> None:
    info, seed = token_info(), new_seed()
    keyring_file.create().add(info, seed)

    reopened = VaultFile(keyring_file.directory, keyring_backend=memory_keyring).unlock()

    assert reopened.seed(info.serial) == seed
    assert not reopened.pin_protected
    username = hashlib.sha256(str(keyring_file.path.absolute()).encode()).hexdigest()
    assert list(memory_keyring.entries) == [(KEYRING_SERVICE, username)]
    assert _file_json(keyring_file)["protection"] == {
        "method": "keyring", "service": KEYRING_SERVICE, "username": username,
    }
    assert memory_keyring.entries[(KEYRING_SERVICE, username)].encode() not in (
        keyring_file.path.read_bytes()
    )


def test_a_pin_may_protect_the_file_even_when_a_keyring_exists(
    keyring_file: VaultFile, memory_keyring: MemoryKeyring
) -> None:
    keyring_file.create(Pin(PIN)).add(token_info(), new_seed())

    assert memory_keyring.entries == {}
    assert keyring_file.is_pin_protected()
    with pytest.raises(PinRequired):
        keyring_file.unlock()


def test_without_a_usable_keyring_a_pin_is_required(data_dir: Path) -> None:
    file = VaultFile(data_dir, keyring_backend=null_keyring.Keyring())

    assert not file.keyring_usable()
    with pytest.raises(PinRequired) as error:
        file.create()
    assert "PIN" in _one_line(error)
    assert not file.exists()


def test_a_keyring_that_lost_the_key_is_a_clear_error(
    keyring_file: VaultFile, memory_keyring: MemoryKeyring
) -> None:
    keyring_file.create().add(token_info(), new_seed())
    memory_keyring.entries.clear()

    with pytest.raises(KeyringUnavailable) as error:
        keyring_file.unlock()
    assert "keyring" in _one_line(error)


def test_a_keyring_file_on_a_machine_without_keyring_is_a_clear_error(
    keyring_file: VaultFile,
) -> None:
    keyring_file.create()
    with pytest.raises(KeyringUnavailable):
        VaultFile(keyring_file.directory, keyring_backend=null_keyring.Keyring()).unlock()


# --- PINs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "123", "1234567890123", "12a4", "12 34", "abcd", "-1234"])
def test_a_pin_is_4_to_12_digits(text: str) -> None:
    with pytest.raises(InvalidPin) as error:
        Pin.parse(text)
    assert text not in _one_line(error) or not text


def test_a_pin_typed_in_full_width_digits_is_the_same_pin() -> None:
    assert Pin.parse("２４６８") == Pin.parse(PIN)
    assert Pin.parse("1234") != Pin.parse("12345")


def test_a_pin_never_shows_in_repr_or_format() -> None:
    pin = Pin.parse("975310")
    assert "975310" not in repr(pin)
    assert "975310" not in f"{pin} {pin!s} {pin!r}"


def test_a_wrong_pin_is_told_apart_from_a_damaged_file(pin_vault: Vault) -> None:
    pin_vault.add(token_info(), new_seed())

    with pytest.raises(WrongPin) as error:
        pin_vault.file.unlock(Pin("1357"))
    assert "PINが正しくありません" in _one_line(error)
    with pytest.raises(PinRequired):
        pin_vault.file.unlock()


# --- damage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b"\xff\xfe not utf-8", b"[]", b"null", b'{"format": "something else"}'],
)
def test_a_file_that_is_not_a_token_file_is_damaged(pin_vault: Vault, content: bytes) -> None:
    pin_vault.file.path.write_bytes(content)

    with pytest.raises(VaultDamaged) as error:
        pin_vault.file.unlock(Pin(PIN))
    message = _one_line(error)
    assert "damaged" in message and str(pin_vault.file.path) in message


def test_a_tampered_seed_ciphertext_is_damage_not_a_wrong_pin(pin_vault: Vault) -> None:
    info = token_info()
    pin_vault.add(info, new_seed())
    document = _file_json(pin_vault.file)
    sealed = document["tokens"][0]["seed"]
    ciphertext = bytearray(base64.urlsafe_b64decode(sealed["ciphertext"] + "=="))
    ciphertext[3] ^= 0x01
    sealed["ciphertext"] = base64.urlsafe_b64encode(bytes(ciphertext)).rstrip(b"=").decode()
    _write_json(pin_vault.file, document)

    with pytest.raises(VaultDamaged) as error:
        pin_vault.file.unlock(Pin(PIN))
    assert info.display_serial in _one_line(error)


def test_a_seed_moved_to_another_serial_does_not_decrypt(pin_vault: Vault) -> None:
    first, second = token_info(), token_info()
    pin_vault.add(first, new_seed())
    pin_vault.add(second, new_seed())
    document = _file_json(pin_vault.file)
    tokens = document["tokens"]
    tokens[0]["seed"], tokens[1]["seed"] = tokens[1]["seed"], tokens[0]["seed"]
    _write_json(pin_vault.file, document)

    with pytest.raises(VaultDamaged):
        pin_vault.file.unlock(Pin(PIN))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("serial", "123456789010"),  # wrong check digit
        ("digits", "6"),
        ("digits", True),
        ("algorithm", "MD5"),
        ("period", 0),
        ("activated_at", "2026-11-26T07:00:00"),  # no zone
        ("seed", {"nonce": "AAAA", "ciphertext": "AAAA"}),
    ],
)
def test_an_odd_field_is_named_in_the_damage_message(
    pin_vault: Vault, field: str, value: object
) -> None:
    pin_vault.add(token_info(), new_seed())
    document = _file_json(pin_vault.file)
    document["tokens"][0][field] = value
    _write_json(pin_vault.file, document)

    with pytest.raises(VaultDamaged) as error:
        pin_vault.file.summary()
    assert "tokens[0]" in _one_line(error)


def test_doctored_scrypt_costs_are_refused_before_any_work(pin_vault: Vault) -> None:
    document = _file_json(pin_vault.file)
    document["protection"]["n"] = 2**30
    _write_json(pin_vault.file, document)

    with pytest.raises(VaultDamaged, match="scrypt"):
        pin_vault.file.unlock(Pin(PIN))


@pytest.mark.parametrize("version", [2, 0, "1", None])
def test_an_unknown_version_is_refused(pin_vault: Vault, version: object) -> None:
    document = _file_json(pin_vault.file)
    document["version"] = version
    _write_json(pin_vault.file, document)

    with pytest.raises(UnsupportedVersion) as error:
        pin_vault.file.unlock(Pin(PIN))
    assert "version" in _one_line(error)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o666])
def test_a_file_open_to_group_or_others_is_refused(pin_vault: Vault, mode: int) -> None:
    pin_vault.file.path.chmod(mode)

    with pytest.raises(InsecurePermissions) as error:
        pin_vault.file.unlock(Pin(PIN))
    message = _one_line(error)
    assert f"{mode:04o}" in message and "chmod 600" in message
    with pytest.raises(InsecurePermissions):
        pin_vault.file.summary()


def test_no_file_yet_is_a_clear_error(data_dir: Path) -> None:
    file = VaultFile(data_dir, keyring_backend=MemoryKeyring())
    assert not file.exists()
    with pytest.raises(TokenNotFound) as error:
        file.unlock()
    assert "activate" in _one_line(error)


def test_creating_over_an_existing_file_is_refused(pin_vault: Vault) -> None:
    with pytest.raises(VaultError, match="already exists"):
        pin_vault.file.create(Pin(PIN))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_corruption_is_a_vault_error_or_harmless(data: st.DataObject) -> None:
    """Flip, cut or splice bytes of a good file: opening it either works or raises VaultError,
    never anything else (the app and CLI show VaultError as one line)."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        keyring = MemoryKeyring()
        file = VaultFile(directory, keyring_backend=keyring)
        vault = file.create()
        vault.add(token_info(), new_seed())
        vault.add(token_info(), new_seed())
        raw = bytearray(file.path.read_bytes())
        position = data.draw(st.integers(0, len(raw) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            raw[position] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[position : position + data.draw(st.integers(1, 40))]
        else:
            raw[position:position] = data.draw(st.binary(min_size=1, max_size=8))
        file.path.write_bytes(bytes(raw))
        try:
            file.unlock()
        except VaultError as error:
            assert "\n" not in str(error)


# --- several tokens --------------------------------------------------------------------------


def test_old_and_new_tokens_sit_side_by_side_and_the_current_one_switches(
    pin_vault: Vault,
) -> None:
    old, new = token_info(), token_info()
    old_seed, new_seed_ = new_seed(), new_seed()
    pin_vault.add(old, old_seed)
    pin_vault.add(new, new_seed_)

    assert pin_vault.tokens == (old, new)
    assert pin_vault.current == new  # a new activation is shown at once (交換 step ⑤)
    assert pin_vault.next_serial() == old.serial

    pin_vault.use(old.serial)
    reopened = pin_vault.file.unlock(Pin(PIN))
    assert reopened.current == old
    assert reopened.next_serial() == new.serial
    assert reopened.seed(old.serial) == old_seed
    assert reopened.seed(new.serial) == new_seed_

    reopened.remove(old.serial)
    assert reopened.tokens == (new,)
    assert reopened.current == new
    assert reopened.next_serial() is None


def test_adding_without_making_current_keeps_the_current_token(pin_vault: Vault) -> None:
    first, second = token_info(), token_info()
    pin_vault.add(first, new_seed())
    pin_vault.add(second, new_seed(), make_current=False)
    assert pin_vault.current == first


def test_use_and_remove_need_no_key_and_name_unknown_serials(pin_vault: Vault) -> None:
    first, second = token_info(), token_info()
    pin_vault.add(first, new_seed())
    pin_vault.add(second, new_seed())
    file = VaultFile(pin_vault.file.directory)

    assert file.use(first.serial) == first
    assert file.summary().current == first.serial
    file.remove(first.serial)
    assert file.summary().current == second.serial
    with pytest.raises(TokenNotFound) as error:
        file.use(first.serial)
    assert first.display_serial in _one_line(error)
    with pytest.raises(TokenNotFound):
        file.remove(first.serial)


def test_removing_the_last_token_keeps_an_empty_file(pin_vault: Vault) -> None:
    info = token_info()
    pin_vault.add(info, new_seed())
    pin_vault.remove(info.serial)
    assert pin_vault.current is None
    assert pin_vault.file.unlock(Pin(PIN)).tokens == ()


def test_a_serial_already_on_the_device_is_not_added_twice(pin_vault: Vault) -> None:
    info = token_info()
    pin_vault.add(info, new_seed())
    with pytest.raises(VaultError, match="already"):
        pin_vault.add(info, new_seed())


def test_a_seed_of_the_wrong_length_is_refused(pin_vault: Vault) -> None:
    with pytest.raises(VaultError):
        pin_vault.add(token_info(), Seed(b"short"))


def test_two_programs_adding_tokens_do_not_lose_each_other(pin_vault: Vault) -> None:
    other = pin_vault.file.unlock(Pin(PIN))  # e.g. the UI open while the CLI activates
    first, second = token_info(), token_info()
    pin_vault.add(first, new_seed())
    other.add(second, new_seed())

    assert [t.serial for t in pin_vault.file.unlock(Pin(PIN)).tokens] == [
        first.serial, second.serial,
    ]


def test_a_file_recreated_under_another_key_is_not_overwritten(pin_vault: Vault) -> None:
    pin_vault.file.path.unlink()
    VaultFile(pin_vault.file.directory).create(Pin("8642"))

    with pytest.raises(VaultError, match="re-created"):
        pin_vault.add(token_info(), new_seed())


def test_the_data_directory_comes_from_the_environment_or_the_platform(tmp_path: Path) -> None:
    assert default_data_dir({"KINKO_TOKEN_DATA_DIR": str(tmp_path)}) == tmp_path
    assert default_data_dir({}).name == "kinko-token"
