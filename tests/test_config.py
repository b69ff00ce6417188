"""Settings: environment overrides and the production safety check."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

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


@pytest.fixture
def one_process(monkeypatch):
    """No worker count in the environment but what a test sets."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("APP_PROCESSES", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"APP_PROCESSES": "6"}, "6 processes (APP_PROCESSES=6)"),
        ({"WEB_CONCURRENCY": "3"}, "3 processes (WEB_CONCURRENCY=3)"),
    ],
)
def test_production_refuses_rate_limits_counted_per_process_when_several_serve(
    reload_config, one_process, env, said
):
    settings = reload_config(SECRET_KEY="k" * 48, **env)
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI=redis://") as refused:
        settings.ProductionConfig.check()
    assert said in str(refused.value)


def test_production_with_several_processes_starts_with_limits_shared_in_redis(
    reload_config, one_process
):
    settings = reload_config(
        SECRET_KEY="k" * 48, APP_PROCESSES="6", RATELIMIT_STORAGE_URI="redis://cache:6379/0"
    )
    settings.ProductionConfig.check()


def test_one_production_process_may_count_in_memory(reload_config, one_process):
    settings = reload_config(SECRET_KEY="k" * 48)
    assert settings.ProductionConfig.RATELIMIT_STORAGE_URI == "memory://"
    settings.ProductionConfig.check()


def test_gunicorn_with_several_workers_and_memory_storage_refuses_to_start(tmp_path, one_process):
    env = {
        **os.environ,
        "SURVEYAPP_CONFIG": "production",
        "SECRET_KEY": "k" * 48,
        "SURVEYAPP_INSTANCE_DIR": str(tmp_path),
    }
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:0"]
    finished = subprocess.run(  # noqa: S603 - the test's own server
        [*gunicorn, "surveyapp:create_app()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode != 0
    assert "served by 2 processes (gunicorn with 2 workers)" in finished.stderr
    assert "RATELIMIT_STORAGE_URI=redis://" in finished.stderr
