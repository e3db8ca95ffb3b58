"""Typed config getters: coercion, rules and the error text."""
import pytest

from pymic_paseg.config import ConfigError, Section, look_up_option


def section(**values):
    return Section("training", values)


def test_float_coerces_scientific_strings_pymic_leaves_as_text():
    # PyMIC's parser returns '1.5e-4' and '-0.5' unchanged (as str)
    assert section(lr="1.5e-4").float("lr") == pytest.approx(1.5e-4)
    assert section(x="-0.5").float("x") == -0.5
    assert section(x=3).float("x") == 3.0


def test_keys_are_case_insensitive_like_configparser():
    assert section(multiviewcrfloss_alpha="2").float("MultiViewCRFLoss_alpha") == 2.0


def test_error_names_section_key_value_and_rule():
    with pytest.raises(ConfigError) as err:
        section(MultiViewCRFLoss_radius=-1).int("MultiViewCRFLoss_radius", low=1)
    assert str(err.value) == "[training] MultiViewCRFLoss_radius = -1: must be an integer >= 1"


def test_non_number_and_out_of_range_float():
    with pytest.raises(ConfigError, match=r"\[training\] alpha = abc: must be a number >= 0"):
        section(alpha="abc").float("alpha", low=0)
    with pytest.raises(ConfigError, match=r"alpha = 2: must be a number > 0 and <= 1"):
        section(alpha=2).float("alpha", low=0, low_open=True, high=1)


def test_int_rejects_fractions_and_missing_required():
    with pytest.raises(ConfigError, match="must be an integer"):
        section(n="2.5").int("n")
    with pytest.raises(ConfigError, match=r"\[training\] n is required but missing"):
        section().int("n")
    assert section().int("n", 7) == 7
    assert section().int("n", None) is None


def test_bool_and_lists():
    assert section(flag="True").bool("flag") is True
    assert section(flag=False).bool("flag") is False
    with pytest.raises(ConfigError, match="must be true or false"):
        section(flag="maybe").bool("flag")
    assert section(w=[1, "2.5e-1"]).float_list("w", length=2) == [1.0, 0.25]
    with pytest.raises(ConfigError, match="must be a list of 3 numbers"):
        section(w=[1, 2]).float_list("w", length=3)
    assert section(g="[]").int_list("g") == []


def test_choice_suggests_closest_name():
    with pytest.raises(ConfigError) as err:
        section(view="sagital").choice("view", ["axial", "sagittal", "coronal"])
    text = str(err.value)
    assert "Did you mean 'sagittal'?" in text
    assert "Valid names: axial, coronal, sagittal" in text


def test_look_up_option_without_close_match_lists_names():
    with pytest.raises(ConfigError) as err:
        look_up_option("zzz", ["CrossEntropyLoss", "DiceLoss"], where="[training] loss_type")
    assert "Did you mean" not in str(err.value)
    assert "[training] loss_type = 'zzz': unknown name." in str(err.value)


def test_unknown_key_in_our_family_is_rejected_with_hint():
    sec = section(multiviewcrfloss_radus=3, learning_rate=0.1)
    with pytest.raises(ConfigError) as err:
        sec.check_known_keys("MultiViewCRFLoss_", ["MultiViewCRFLoss_radius"])
    assert "multiviewcrfloss_radus: unknown key. Did you mean 'multiviewcrfloss_radius'?" \
        in str(err.value)
    # keys outside the family are PyMIC's business
    section(learning_rate=0.1).check_known_keys("MultiViewCRFLoss_", ["MultiViewCRFLoss_radius"])


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "1e999", "-1e999"])
def test_float_rejects_nan_and_infinities_naming_the_key(text):
    with pytest.raises(ConfigError, match=rf"^\[training\] sigma = {text}: must be a "):
        section(sigma=text).float("sigma")
    # float_list applies the same rule to each item
    with pytest.raises(ConfigError, match=r"^\[training\] w = .*: must be a list of finite "):
        section(w=f"[1.0, {text}]").float_list("w")
    assert section(w="[1.0, 2]").float_list("w") == [1.0, 2.0]


def test_an_infinite_crf_sigma_fails_at_construction_not_at_the_first_forward():
    from pymic_paseg.losses import MultiViewCRFLoss
    for key in ("spatial_sigma", "intensity_sigma"):
        with pytest.raises(ConfigError, match=rf"(?i)MultiViewCRFLoss_{key} = inf"):
            MultiViewCRFLoss({f"multiviewcrfloss_{key}": "inf"})


def test_float_or_list_keeps_the_form_written_and_checks_each_number():
    import pytest

    from pymic_paseg.config import ConfigError, Section
    sec = Section("training", {"a": 2.5, "b": [1, 2, 3], "c": [1, 2], "d": [1, -2, 3]})
    assert sec.float_or_list("a", length=3, low=0) == 2.5
    assert sec.float_or_list("b", length=3, low=0) == [1.0, 2.0, 3.0]
    assert sec.float_or_list("e", 6.0, length=3) == 6.0
    for key in ("c", "d"):
        with pytest.raises(ConfigError, match=rf"\[training\] {key} = "):
            sec.float_or_list(key, length=3, low=0)
