"""An uploaded file is saved under its own name's last part, inside the folder it is read
from: a name such as ".." made the upload fail with a 500 (review of issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from surveyapp.tabular import upload_path

FOLDER = Path("uploads")


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        ("contacts.CSV", "contacts.csv"),
        ("Übersicht 2026.xlsx", "Übersicht 2026.xlsx"),
        ("..", "upload.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\\\Users\\\\ana\\\\list.xlsx", "list.xlsx"),
        ("/absolute/list.csv", "list.csv"),
        ("", "upload.csv"),
        (None, "upload.csv"),
    ],
)
def test_an_upload_is_saved_inside_its_folder_under_its_own_name(name, saved):
    path = upload_path(FOLDER, name, "upload.csv")
    assert path.parent == FOLDER
    assert path.name == saved
