"""The real-CLI tier: the pinned agent CLIs (``shoal.testing.realclis``) against the mock model.

``real_bin`` is the folder of the real programs: installed already, or installed now when
``SHOAL_REAL_CLIS_INSTALL=1`` or ``CI`` is set; otherwise the tier is skipped, saying why.
``mock_model`` is a :class:`MockModel` serving on a free port for one test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from shoal.testing import realclis
from shoal.testing.mockmodel import MockModel


@pytest.fixture(scope="session")
def real_bin() -> Path:
    found = realclis.installed()
    if found is not None:
        return found
    if os.environ.get("SHOAL_REAL_CLIS_INSTALL") == "1" or os.environ.get("CI"):
        return realclis.install()
    pytest.skip("the real agent CLIs are not installed: run `python -m shoal.testing.realclis` "
                "(or set SHOAL_REAL_CLIS_INSTALL=1) to install the pinned versions")


@pytest.fixture
def mock_model(tmp_path: Path) -> Iterator[MockModel]:
    with MockModel(log=tmp_path / "mock-requests.jsonl") as mock:
        yield mock
