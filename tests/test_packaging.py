"""What a person installs: the wheel and the sdist carry every file of the package.

Built with the `build` front end, as `pip install .` would, from a copy of the files git sees (as a
fresh clone has them, with the changes not yet committed): a stale guichet.egg-info of an earlier
build would otherwise feed its file list to the sdist. A template, static file or catalogue added
under guichet/ but not matched by the package data fails here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

from tests.support.paths import ROOT


def _git_files(*paths: str) -> set[str]:
    """Files in git's view (tracked or new, not ignored), relative to the checkout."""
    listed = subprocess.run(  # noqa: S603 (a fixed git command line)
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *paths],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return {name for name in listed if (ROOT / name).is_file()}


def _package_files() -> set[str]:
    return _git_files("guichet")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    tree = tmp_path_factory.mktemp("tree")
    for name in _git_files():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(  # noqa: S603 (our own interpreter and the build front end)
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out), "."],
        cwd=tree,
        capture_output=True,
        check=True,
    )
    (wheel,) = out.glob("*.whl")
    (sdist,) = out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = {n for n in archive.namelist() if not n.endswith("/")}
    with tarfile.open(sdist) as archive:
        # guichet-0.1.0/guichet/... -> guichet/...
        sdist_names = {m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile() and "/" in m.name}
    return {"wheel": wheel_names, "sdist": sdist_names}


def test_the_source_tree_has_package_data_to_check():
    files = _package_files()
    assert {f for f in files if f.endswith(".mo")} >= {
        "guichet/core/locale/fr/LC_MESSAGES/django.mo",
        "guichet/issuer/acs/challenge/locale/fr/LC_MESSAGES/django.mo",
        "guichet/payonbill/checkout/locale/fr/LC_MESSAGES/django.mo",
    }
    assert "guichet/issuer/acs/challenge/static/acs_challenge/challenge.js" in files
    assert {
        "guichet/issuer/acs/static/acs/method.js",
        "guichet/issuer/acs/templates/acs/method.html",
        "guichet/issuer/acs/templates/acs/method_error.html",
        "guichet/issuer/acs/migrations/0002_device_observation.py",
    } <= files


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_archive_carries_every_file_of_the_package(built, kind):
    missing = sorted(_package_files() - built[kind])
    assert missing == []


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_the_archive_carries_nothing_from_tests_or_a_data_dir(built, kind):
    strays = sorted(
        n
        for n in built[kind]
        if n.startswith(("tests/", "var/")) or "/var/" in n or n.endswith((".pyc", ".sqlite3"))
    )
    assert strays == []
