"""Settings: defaults as DESIGN §4 says, the environment over the file, and errors that name key, value and limit."""

from __future__ import annotations

import pytest

from kiosk.settings.tree import ConfigError, load_settings


def test_defaults_are_the_design_thresholds(monkeypatch):
    s = load_settings()
    assert (s.service.arrival_debounce_s, s.service.engage_distance_m, s.service.engage_angle_deg,
            s.service.engage_hold_s, s.service.mutual_facing_angle_deg, s.service.service_exit_grace_s) == (
        1.0, 2.0, 30.0, 1.0, 20.0, 2.0)
    assert s.central.distance_band_edges_m == (0.75, 1.2, 3.6)
    assert s.privacy.min_group_size == 5 and s.privacy.retention_days == 30


def test_file_values_are_read(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text("[service]\nengage_distance_m = 1.5\n")
    assert load_settings(f).service.engage_distance_m == 1.5


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    f = tmp_path / "kiosk.toml"
    f.write_text("[service]\nengage_distance_m = 1.5\n")
    monkeypatch.setenv("KIOSK_SERVICE__ENGAGE_DISTANCE_M", "1.8")
    assert load_settings(f).service.engage_distance_m == 1.8


@pytest.mark.parametrize("case, text, fragments", [
    ("negative distance", "[service]\nengage_distance_m = -1\n", ["service.engage_distance_m", "-1", "greater than 0"]),
    ("angle too wide", "[service]\nengage_angle_deg = 200\n", ["service.engage_angle_deg", "200", "less than or equal to 90"]),
    ("misspelt key", "[service]\nengage_distanse_m = 1\n", ["service.engage_distanse_m", "unknown setting"]),
    ("wrong type", "[privacy]\nmin_group_size = \"five\"\n", ["privacy.min_group_size", "'five'", "integer"]),
    ("bands out of order", "[central]\ndistance_band_edges_m = [0.75, 0.5, 3.6]\n", ["distance_band_edges_m must increase"]),
    ("too few tape marks", "[[camera.floor_points]]\nimage_px = [1, 2]\nfloor_m = [0, 0]\n", ["4 or more"]),
])
def test_bad_file_values_name_key_value_and_limit(tmp_path, case, text, fragments):
    f = tmp_path / "kiosk.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    for fragment in fragments:
        assert fragment in str(err.value)


def test_bad_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("KIOSK_SERVICE__ENGAGE_HOLD_S", "soon")
    with pytest.raises(ConfigError, match=r"KIOSK_SERVICE__ENGAGE_HOLD_S"):
        load_settings()


def test_broken_toml_is_reported_with_the_file_name(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text("[service\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(f)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_relative_paths_in_a_settings_file_are_relative_to_that_file(tmp_path, monkeypatch):
    (tmp_path / "etc").mkdir()
    f = tmp_path / "etc" / "kiosk.toml"
    f.write_text('[store]\ndata_dir = "../data"\nrubric = "rubrics/ours.toml"\n[sync]\nca_bundle = "ca.pem"\n')
    monkeypatch.chdir("/")
    s = load_settings(f)
    assert s.store.data_dir == tmp_path / "data"
    assert s.store.rubric == str(tmp_path / "etc" / "rubrics" / "ours.toml")
    assert s.sync.ca_bundle == tmp_path / "etc" / "ca.pem"


def test_a_shipped_rubric_is_named_not_located(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[store]\nrubric = "bank_branch"\n')
    assert load_settings(f).store.rubric == "bank_branch"


def test_an_unknown_rubric_name_lists_the_shipped_ones(tmp_path):
    f = tmp_path / "kiosk.toml"
    f.write_text('[store]\nrubric = "bank"\n')
    with pytest.raises(ConfigError, match=r"store.rubric = 'bank'.*bank_branch, default, retail_shop"):
        load_settings(f)


def test_the_default_data_dir_is_the_users_data_home_wherever_the_command_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    monkeypatch.chdir(tmp_path)
    assert load_settings().store.data_dir == tmp_path / "share" / "kiosk"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert load_settings().store.data_dir == tmp_path / "home" / ".local" / "share" / "kiosk"


def test_a_relative_data_dir_from_the_environment_is_fixed_at_load(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KIOSK_STORE__DATA_DIR", "here")
    assert load_settings().store.data_dir == tmp_path / "here"
