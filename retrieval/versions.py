"""Published versions of an audience's FAQ index, switched atomically.

Layout under the index root::

    <root>/_versions/<audience>/<version>/   immutable: the index files, faq.csv, version.json
    <root>/_versions/<audience>/.staging-*/  a build in progress (never read; cleaned up)
    <root>/<audience> -> _versions/<audience>/<version>   the live version (a symlink)

A new version is built in a staging directory, renamed into place when complete, and
made live by replacing the symlink with ``os.replace`` — atomic on POSIX, so a reader
sees either the old or the new version, never a mix, and a process killed at any point
leaves a complete live version. Readers (:class:`retrieval.registry.IndexRegistry`)
notice the switch by the symlink's target and reload. The last ``keep`` versions stay
for rollback.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

VERSIONS_DIR = "_versions"
STAGING_PREFIX = ".staging-"
VERSION_FILE = "version.json"
SOURCE_FILE = "faq.csv"


class VersionError(RuntimeError):
    pass


@dataclass
class VersionInfo:
    version: str
    audience: str
    created_at: str
    source: str = ""  # the file it came from (for people)
    source_sha256: str = ""
    entries: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    quality: dict = field(default_factory=dict)  # regression check figures, if run
    origin: str = "import"  # "import" (a maintainer's file) or "repository" (data/faq, the sample)
    note: str = ""

    @classmethod
    def read(cls, directory: Path) -> VersionInfo:
        data = json.loads((directory / VERSION_FILE).read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def new_version_id(now: datetime | None = None) -> str:
    """Sortable by time and unique: ``20261124-121500-123456`` (UTC, microseconds)."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-%f")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VersionStore:
    def __init__(self, root: str | Path, audience: str, keep: int = 5):
        self.root = Path(root)
        self.audience = audience
        self.keep = keep
        self.live = self.root / audience
        self.dir = self.root / VERSIONS_DIR / audience

    # -- reading ------------------------------------------------------------------------

    def current(self) -> str | None:
        """The live version id (None: nothing published yet)."""
        if self.live.is_symlink():
            return Path(os.readlink(self.live)).name
        return None

    def versions(self) -> list[VersionInfo]:
        """Complete versions, oldest first."""
        if not self.dir.is_dir():
            return []
        found = []
        for path in sorted(self.dir.iterdir()):
            if path.name.startswith(".") or not (path / VERSION_FILE).exists():
                continue
            try:
                found.append(VersionInfo.read(path))
            except (OSError, ValueError, TypeError):
                continue
        return found

    def path(self, version: str) -> Path:
        path = self.dir / version
        if version.startswith(".") or "/" in version or not (path / VERSION_FILE).exists():
            raise VersionError(f"{self.audience}: バージョン {version} はありません。")
        return path

    def info(self, version: str | None = None) -> VersionInfo | None:
        version = version or self.current()
        return VersionInfo.read(self.path(version)) if version else None

    # -- writing ------------------------------------------------------------------------

    def staging(self, version: str) -> Path:
        """Where to build ``version`` (not created here); leftovers of killed builds are removed first."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for stale in self.dir.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        return self.dir / f"{STAGING_PREFIX}{version}"

    def commit(self, staging: Path, info: VersionInfo) -> Path:
        """Write version.json last, then rename the complete staging directory into place."""
        (staging / VERSION_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=1), encoding="utf-8")
        final = self.dir / info.version
        os.replace(staging, final)
        _fsync_dir(self.dir)
        return final

    def switch(self, version: str) -> None:
        """Make ``version`` live atomically (a new symlink replaces the old one in one rename)."""
        self.path(version)  # must exist and be complete
        self.migrate_legacy()
        temporary = self.root / f".{self.audience}.switch-{uuid.uuid4().hex[:8]}"
        os.symlink(Path(VERSIONS_DIR) / self.audience / version, temporary)
        os.replace(temporary, self.live)
        _fsync_dir(self.root)

    def prune(self) -> list[str]:
        """Delete the oldest versions beyond ``keep`` (never the live one)."""
        live = self.current()
        versions = [v.version for v in self.versions()]
        doomed = [v for v in versions[:-self.keep] if v != live] if len(versions) > self.keep else []
        for version in doomed:
            shutil.rmtree(self.dir / version, ignore_errors=True)
        return doomed

    def migrate_legacy(self) -> None:
        """An index built before versions existed (a real directory) becomes a version first."""
        if self.live.is_dir() and not self.live.is_symlink():
            version = new_version_id()
            self.dir.mkdir(parents=True, exist_ok=True)
            entries = 0
            try:
                entries = len(json.loads((self.live / "manifest.json").read_text(encoding="utf-8")).get("entry_hashes", {}))
            except (OSError, ValueError):
                pass
            info = VersionInfo(version, self.audience, datetime.now(UTC).isoformat(timespec="seconds"),
                               source="(before versioning)", entries=entries, origin="repository")
            (self.live / VERSION_FILE).write_text(json.dumps(asdict(info), ensure_ascii=False, indent=1),
                                                  encoding="utf-8")
            os.replace(self.live, self.dir / version)
            os.symlink(Path(VERSIONS_DIR) / self.audience / version, self.live)
