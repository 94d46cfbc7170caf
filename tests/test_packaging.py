"""Packaging metadata: installing Parley prints no setuptools deprecation warnings."""

from __future__ import annotations

import tomllib
import warnings

from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

from tests.conftest import REPO


def test_license_is_an_spdx_expression_and_setuptools_applies_it_silently() -> None:
    pyproject = REPO / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text())["project"]
    assert project["license"] == "MIT"
    # setuptools' own reading of pyproject.toml, as pip's build step runs it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist = apply_configuration(Distribution(), str(pyproject))
    assert [str(w.message) for w in caught] == []
    assert getattr(dist.metadata, "license_expression", None) == "MIT"


def test_build_backend_understands_spdx_licenses() -> None:
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    # PEP 639 license expressions need setuptools 77 or newer.
    assert "setuptools>=77" in requires
