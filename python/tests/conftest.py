"""Shared fixtures: the ipatlas binary the Rust suite built, MaxMind's City test database
(fetched by scripts/fetch-test-data.sh), and address lists drawn from it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# The command line's compiled-table cache goes to a fresh folder, not the user's.
os.environ.setdefault("IPATLAS_CACHE_DIR", tempfile.mkdtemp(prefix="pyipatlas-cache-"))


def _binary() -> Path:
    path = Path(os.environ.get("IPATLAS_BIN", REPO / "target" / "debug" / "ipatlas"))
    # No skipping: scripts/test.sh builds the binary before these tests run.
    assert path.is_file(), f"the ipatlas binary is missing at {path} (run scripts/test.sh)"
    return path


def run_cli(*args, check=True, cwd=None) -> subprocess.CompletedProcess:
    """Runs the command line as a user does."""
    done = subprocess.run([str(_binary()), *map(str, args)], capture_output=True, cwd=cwd)
    if check and done.returncode != 0:
        raise AssertionError(
            f"ipatlas {' '.join(map(str, args))} failed ({done.returncode}): "
            f"{done.stderr.decode(errors='replace')}"
        )
    return done


@pytest.fixture(scope="session")
def cli():
    return run_cli


@pytest.fixture(scope="session")
def city_db() -> str:
    path = REPO / ".testdata" / "maxminddb-3.2.0" / "tests" / "data" / "test-data" / "GeoIP2-City-Test.mmdb"
    assert path.is_file(), f"{path} is missing: scripts/fetch-test-data.sh fetches it"
    return str(path)


@pytest.fixture(scope="session")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pyipatlas")


def sample_lines(cli, db: str, work: Path, n: int, seed: int) -> list:
    """`n` addresses drawn from the database's located space by `ipatlas sample`."""
    out = work / f"sample-{n}-{seed}.txt"
    if not out.exists():
        cli("sample", "--db", db, "-n", n, "--seed", seed, "-o", out)
    return out.read_text().splitlines()


@pytest.fixture(scope="session")
def lines(cli, city_db, work) -> list:
    """20,000 sampled addresses (IPv4 and IPv6), plus the records logs really hold: prefixes,
    IPv4-mapped IPv6, reserved space, and invalid text."""
    extra = [
        "2001:480::/32",
        "81.2.69.0/24",
        "::ffff:81.2.69.160",
        "10.1.2.3",
        "fe80::1",
        "not-an-ip",
        "300.1.2.3",
        "89.160.20.112",
    ]
    return sample_lines(cli, city_db, work, 20_000, 7) + extra


@pytest.fixture(scope="session")
def lines_file(lines, work) -> Path:
    path = work / "lines.txt"
    path.write_text("\n".join(lines) + "\n")
    return path
