"""Reading forms out of HTML as a browser would submit them, for tests that post them back."""

from __future__ import annotations

from html.parser import HTMLParser


class FormReader(HTMLParser):
    """Collects what a browser would send for one form of a page as it is shown."""

    def __init__(self, action_suffix: str) -> None:
        super().__init__()
        self.action_suffix = action_suffix
        self.data: dict[str, object] = {}
        self.in_form = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            # The fragment never leaves the browser (it only says where the answer lands).
            self.in_form = a.get("action", "").partition("#")[0].endswith(self.action_suffix)
        if not self.in_form:
            return
        name = a.get("name", "")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.data.setdefault(name, [])
                    self.data[name].append(a.get("value", "on"))  # type: ignore[union-attr]
            elif kind not in ("submit", "button"):
                self.data[name] = a.get("value", "")
        elif tag == "select":
            self.select = name
            self.data[name] = None  # a browser sends the first option unless one is selected
        elif tag == "option" and self.select:
            if "selected" in a or self.data[self.select] is None:
                self.data[self.select] = a.get("value", "")
        elif tag == "textarea":
            self.textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            if self.select and self.data[self.select] is None:
                self.data[self.select] = ""
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea] = str(self.data[self.textarea]) + data


def form_values(html: str, action_suffix: str) -> dict[str, object]:
    """What a browser would send for the form whose action ends with ``action_suffix``."""
    reader = FormReader(action_suffix)
    reader.feed(html)
    return reader.data
