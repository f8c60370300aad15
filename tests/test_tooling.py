"""The image and CI install from the lock files, and the lock files pin every dependency."""
import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import PROJECT_DIR

PROJECT = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["project"]
DOCKERFILE = (PROJECT_DIR / "Dockerfile").read_text()
CI = (PROJECT_DIR / ".ci" / "run").read_text()


def pip_installs(text: str) -> list[list[str]]:
    """The arguments of each `pip install` command in `text` (not in a quoted message)."""
    return [re.split(r"&&|\|\||\\\n|\n", rest, maxsplit=1)[0].split()
            for rest in re.split(r"(?:^|(?<=[\s/]))pip install", text, flags=re.MULTILINE)[1:]]


def pins(lock: str) -> dict[str, str]:
    """{canonical name: version} of the `name==version` lines of a lock file."""
    text = (PROJECT_DIR / lock).read_text()
    return {canonicalize_name(name): version
            for name, version in re.findall(r"^([A-Za-z0-9][\w.-]*)==(\S+)", text, re.MULTILINE)}


def declared(*extras: str) -> list[Requirement]:
    """The project's dependencies and those of `extras`, less its references to itself."""
    requirements = PROJECT["dependencies"] + [
        line for extra in extras for line in PROJECT["optional-dependencies"][extra]]
    return [Requirement(line) for line in requirements
            if canonicalize_name(Requirement(line).name) != PROJECT["name"]]


def test_the_dockerfile_installs_the_runtime_lock_then_the_project_without_dependencies():
    lock, project = pip_installs(DOCKERFILE)
    assert lock[-2:] == ["-r", "requirements.lock"]
    assert project[-2:] == ["-e", "."] and "--no-deps" in project


def test_ci_installs_the_test_lock_and_lints_and_checks_migrations_before_the_tests():
    for arguments in pip_installs(CI):
        assert arguments[-2:] == ["-r", "requirements-test.lock"] or (
            arguments[-2:] == ["-e", "."] and "--no-deps" in arguments), arguments
    tests = CI.index("&& .venv/bin/pytest\n")
    assert CI.index("-r requirements-test.lock") < CI.index("\n.venv/bin/ruff check .") < tests
    assert CI.index("manage.py makemigrations --check --dry-run") < tests


@pytest.mark.parametrize("lock, extras", [
    ("requirements.lock", ()),
    ("requirements-test.lock", ("test", "dev")),
])
def test_every_declared_dependency_is_pinned_within_its_range(lock, extras):
    pinned = pins(lock)
    for requirement in declared(*extras):
        version = pinned.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not pinned in {lock}"
        assert requirement.specifier.contains(version), f"{lock}: {requirement} but =={version}"


def test_the_runtime_lock_carries_no_test_dependencies():
    assert {"pytest", "ruff", "playwright"}.isdisjoint(pins("requirements.lock"))
