"""The framework's ceilings: a bare Flask endpoint, and the questionnaire's bytes from memory.

benchmarks/load.py serves this app under gunicorn with the same settings as surveyapp and
drives it with the same client, so each step of the real app can be read as a share of
what Flask and gunicorn manage at all (``/``), and the questionnaire GET as a share of
sending the very same page without building it (``/form``: the bytes of one real
questionnaire GET, which load.py captures and names in ``CEILING_PAGE``). The gap between
the two ceilings is what the page's size costs; the gap between ``/form`` and the real
page is what rendering it costs.
"""

import os
from pathlib import Path

from flask import Flask, Response

app = Flask(__name__)
PAGE = Path(os.environ["CEILING_PAGE"]).read_bytes() if os.environ.get("CEILING_PAGE") else b""


@app.get("/")
def hello() -> str:
    """The shortest useful answer."""
    return "ok"


@app.get("/form")
def questionnaire_from_memory() -> Response:
    """The captured questionnaire page, as it was sent, without building anything."""
    return Response(PAGE, content_type="text/html; charset=utf-8")
