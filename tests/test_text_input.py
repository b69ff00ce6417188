"""Every form value reaches the application with LF line endings, as browsers never send it."""

from __future__ import annotations

from flask import Flask, request

from surveyapp.text_input import TypedText, normalise_line_endings


def test_crlf_and_lone_cr_become_lf():
    assert normalise_line_endings("a\r\nb\rc\nd") == "a\nb\nc\nd"
    assert normalise_line_endings("plain") == "plain"


def test_the_multidict_keeps_every_value_of_a_key():
    values = TypedText([("disease", "a\r\nb"), ("disease", "c"), ("n", "1")])
    assert values.getlist("disease") == ["a\nb", "c"]
    assert TypedText({"k": ["x\r\ny", "z"]}).getlist("k") == ["x\ny", "z"]


def test_a_posted_textarea_arrives_with_lf(app: Flask):
    with app.test_request_context(
        "/anything?q=a%0D%0Ab", method="POST", data={"text": "Dear X,\r\n\r\nThanks\r\n"}
    ):
        assert request.form["text"] == "Dear X,\n\nThanks\n"
        assert request.args["q"] == "a\nb"
