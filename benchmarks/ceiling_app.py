"""The framework's ceiling: a bare Flask endpoint returning a short string.

benchmarks/load.py serves it under gunicorn with the same settings as surveyapp and drives
it with the same client, so each step of the real app can be read as a share of it.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    """The shortest useful answer."""
    return "ok"
