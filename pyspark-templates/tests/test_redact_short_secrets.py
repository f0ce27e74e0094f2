"""The runtime's redaction point and secrets too short to redact: a password of 1-3 characters
cannot be kept out of the output (replacing every "ab" would garble every line), so it is
refused with MM453 before anything can print it; longer ones are replaced wherever they appear."""
import pytest

from manymodels_runtime import redact
from manymodels_runtime.errors import InputError
from manymodels_runtime.sql_source import env_credentials


@pytest.mark.parametrize("secret", ["Q", "zq", "x7!"])
def test_a_secret_shorter_than_four_characters_is_refused_without_naming_it(secret):
    with pytest.raises(InputError) as err:
        redact.register_secret(secret)
    assert err.value.code == "MM453"
    assert secret not in str(err.value).replace("MM453", "")
    assert "4 characters" in str(err.value)


def test_a_short_database_password_stops_the_read_with_mm453():
    with pytest.raises(InputError) as err:
        env_credentials({"userEnv": "U", "passwordEnv": "P"}, {"U": "mm", "P": "pw"})
    assert err.value.code == "MM453" and "data.sql.password_env" in str(err.value)


def test_a_longer_secret_is_replaced_wherever_it_appears():
    redact.register_secret("s3cr")
    assert redact.redact('connect failed for "s3cr" at s3cr') == 'connect failed for "***" at ***'
