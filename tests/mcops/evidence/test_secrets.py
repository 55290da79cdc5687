"""env:NAME resolution and redaction, without a kernel."""

from __future__ import annotations

import nbformat
import pytest

from mcops.errors import ParameterError
from mcops.secrets import (
    Redactor,
    redact_text,
    redact_url,
    redact_value,
    redactor_for,
    resolve,
    resolve_all,
    secret_values,
)

URL = "postgresql://ops:s3cret-pw@db/catbird"


def test_env_reference_resolves_from_the_given_environment():
    assert resolve("env:DB", environ={"DB": URL}) == URL
    assert resolve("plain", environ={}) == "plain"
    assert resolve(5, environ={}) == 5
    assert resolve_all({"a": "env:X", "b": 1}, environ={"X": "y"}) == {"a": "y", "b": 1}


def test_unset_env_reference_names_parameter_and_variable():
    with pytest.raises(ParameterError) as err:
        resolve("env:MCOPS_NOT_SET_ANYWHERE", name="database_url", environ={})
    assert err.value.name == "database_url"
    assert "MCOPS_NOT_SET_ANYWHERE" in str(err.value)
    assert "export" in str(err.value)


def test_secret_values_collects_url_passwords_env_values_and_tokens():
    found = secret_values(
        {
            "database_url": URL,
            "prometheus_url": "env:PROM",
            "api_token": "tok-123456",
            "window": "1h",
            "service_url": "http://host:8000/?token=abcdef123",
        },
        environ={"PROM": "http://u:promsecret@prom:9090"},
    )
    assert {"s3cret-pw", "http://u:promsecret@prom:9090", "promsecret", "tok-123456"} <= found
    assert "abcdef123" in found
    assert "1h" not in found


def test_redactor_masks_urls_anywhere_and_known_secrets_in_any_spelling():
    red = redactor_for({"database_url": URL, "api_token": "tok<&>9999"}, environ={})
    assert red.parameter(URL) == "postgresql://ops:***@db/catbird"
    text = f"failed: could not reach {URL} (token tok<&>9999, html tok&lt;&amp;&gt;9999)"
    masked = red.text(text)
    assert "s3cret" not in masked and "tok<&>" not in masked and "tok&lt;" not in masked
    assert "postgresql://ops:***@db/catbird" in masked
    # a URL password we were never told about is still masked
    assert red.text("see mysql://root:hunter22@x/y") == "see mysql://root:***@x/y"


def test_ansi_colours_cannot_split_a_secret():
    red = Redactor.of(["s3cret-pw"])
    coloured = "ValueError: \x1b[0;31ms3cret\x1b[0m-pw"
    assert "s3cret" not in red.text(coloured).replace("\x1b[0;31m", "").replace("\x1b[0m", "")


def test_short_secrets_are_masked_only_inside_urls():
    red = redactor_for({"database_url": "postgresql://ops:ab@db/x"}, environ={})
    assert red.text("postgresql://ops:ab@db/x about") == "postgresql://ops:***@db/x about"


def test_notebook_redaction_covers_source_outputs_and_metadata_but_not_images():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f'database_url = "{URL}"')
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=f"{URL}\n"),
        nbformat.v4.new_output(
            "display_data", data={"text/html": f"<td>{URL}</td>", "image/png": "s3cret-pw=="}
        ),
        nbformat.v4.new_output("error", ename="E", evalue=URL, traceback=[URL]),
    ]
    nb.cells = [cell]
    nb.metadata["papermill"] = {"parameters": {"database_url": URL}}
    red = redactor_for({"database_url": URL}, environ={})
    out = red.notebook(nb)
    text = nbformat.writes(out)
    assert text.count("s3cret-pw") == 1  # only inside the image bytes
    assert out.cells[0].outputs[1].data["image/png"] == "s3cret-pw=="
    assert out.metadata.papermill.parameters.database_url == "postgresql://ops:***@db/catbird"


def test_the_one_text_redactor_masks_bearer_tokens_and_url_passwords():
    text = "GET http://svc/admin failed: Authorization: Bearer abcdef (postgresql://ops:pw1@db/x)"
    assert redact_text(text) == (
        "GET http://svc/admin failed: Authorization: Bearer *** (postgresql://ops:***@db/x)"
    )
    assert redact_text("could not reach svc (Bearer tok123)") == "could not reach svc (Bearer ***)"
    assert redact_text("pass the admin bearer token.") == "pass the admin bearer token."


def test_a_run_redactor_masks_bearer_tokens_it_was_never_told_about():
    red = redactor_for({"database_url": URL}, environ={})
    assert red.text("401 for Bearer admin-token-xyz") == "401 for Bearer ***"


def test_redact_value_masks_every_string_of_a_json_like_value():
    value = {"error": "Bearer tok123", "rows": [URL, 3, None], "n": 1.5}
    assert redact_value(value) == {
        "error": "Bearer ***",
        "rows": ["postgresql://ops:***@db/catbird", 3, None],
        "n": 1.5,
    }


def test_redact_url_keeps_the_shape_and_leaves_other_text_alone():
    assert redact_url(URL) == "postgresql://ops:***@db/catbird"
    assert redact_url("http://h/x?token=abc&a=1") == "http://h/x?token=***&a=1"
    assert redact_url("1h") == "1h"
