"""Settings: environment overrides and the production safety check."""

from __future__ import annotations

import importlib

import pytest

import config


@pytest.fixture
def reload_config(monkeypatch):
    def reload(**env: str):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return importlib.reload(config)

    yield reload
    monkeypatch.undo()
    importlib.reload(config)


def test_production_refuses_to_start_without_a_real_secret_key(reload_config):
    settings = reload_config()
    settings.ProductionConfig.SECRET_KEY = "short"
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        settings.ProductionConfig.check()


def test_production_starts_with_a_long_random_secret_key(reload_config):
    settings = reload_config(SECRET_KEY="k" * 48)
    settings.ProductionConfig.check()
    assert settings.ProductionConfig.SESSION_COOKIE_SECURE is True


def test_settings_come_from_the_environment(reload_config):
    settings = reload_config(DATABASE_URL="postgres://u@db/registry", REGISTRY_PAGE_SIZE="25")
    assert settings.Config.SQLALCHEMY_DATABASE_URI == "postgresql+psycopg://u@db/registry"
    assert settings.Config.REGISTRY_PAGE_SIZE == 25


def test_an_unknown_config_name_is_refused():
    from surveyapp import create_app

    with pytest.raises(RuntimeError, match="unknown configuration 'staging'"):
        create_app("staging")
