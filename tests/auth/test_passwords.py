"""The password policy and hashing strength."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

import config
from surveyapp.auth.passwords import (
    PasswordRejected,
    check_password_policy,
    hash_password,
    verify_password,
)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1!", "at least 8 characters"),
        ("password", "commonly used"),
        ("iloveyou", "commonly used"),
        ("Password1", "commonly used"),
        ("qwertyuiop123", "commonly used"),
        ("1234567890", "commonly used"),
        ("aaaaaaaaaaaa", "more than one or two different characters"),
        ("ana.lopez2026", "email"),
        ("x" * 257, "at most 256"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    with pytest.raises(PasswordRejected, match=reason):
        check_password_policy(password, "ana.lopez@example.org")


@pytest.mark.parametrize(
    "password", ["gQ7#vtr2", "correct horse battery staple", "Ünïcödé pässwörd wörks"]
)
def test_other_passwords_are_accepted_without_composition_rules(password):
    check_password_policy(password, "ana.lopez@example.org")


def test_hashes_are_argon2id_and_verify(ctx):
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "Correct horse battery staple")
    assert not verify_password("not a hash", "anything")


def test_outside_tests_the_hash_meets_owasps_minimum():
    assert config.Config.ARGON2_MEMORY_KIB >= 19 * 1024
    assert config.Config.ARGON2_TIME_COST >= 2
    assert config.Config.ARGON2_PARALLELISM == 1
    hashed = PasswordHasher(
        time_cost=config.Config.ARGON2_TIME_COST,
        memory_cost=config.Config.ARGON2_MEMORY_KIB,
        parallelism=config.Config.ARGON2_PARALLELISM,
    ).hash("x")
    assert "m=19456,t=2,p=1" in hashed


def test_production_refuses_weaker_hashing(monkeypatch):
    monkeypatch.setattr(config.ProductionConfig, "ARGON2_MEMORY_KIB", 4096)
    monkeypatch.setattr(config.ProductionConfig, "SECRET_KEY", "k" * 48)
    with pytest.raises(RuntimeError, match="OWASP"):
        config.ProductionConfig.check()


def test_only_the_testing_config_is_cheap():
    assert config.TestingConfig.ARGON2_MEMORY_KIB < config.Config.ARGON2_MEMORY_KIB
    assert config.DevelopmentConfig.ARGON2_MEMORY_KIB == config.Config.ARGON2_MEMORY_KIB


def test_a_login_rehashes_a_hash_made_with_old_parameters(app, make_user, auth, monkeypatch, ctx):
    from surveyapp.auth.service import find_user
    from tests.conftest import PASSWORD

    make_user("ana@example.org")
    old = find_user("ana@example.org").password_hash
    monkeypatch.setitem(app.config, "ARGON2_MEMORY_KIB", 16)
    assert auth.login("ana@example.org").status_code == 302
    db_hash = find_user("ana@example.org")
    from surveyapp.extensions import db

    db.session.refresh(db_hash)
    assert db_hash.password_hash != old
    assert "m=16," in db_hash.password_hash
    assert verify_password(db_hash.password_hash, PASSWORD)
