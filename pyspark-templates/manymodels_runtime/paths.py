"""Cluster paths as this process opens them. On Databricks `dbfs:/x` is the FUSE mount
`/dbfs/x`, and Unity Catalog volumes and workspace files have their own mounts (`/Volumes`,
`/Workspace`). Paths inside the files a remote job reads (the JobSpec's data path, a model
manifest's artifact URIs, a custom model file) are written that way by the CLI.

The mount roots can be moved with MANYMODELS_DBFS_MOUNT, MANYMODELS_VOLUMES_MOUNT and
MANYMODELS_WORKSPACE_MOUNT (the test suite's Databricks emulator keeps those trees under its
own storage folder); unset, they are the cluster's real mounts.

On Synapse the files a job reads and writes are `abfss://<container>@<account>.dfs.<suffix>/<path>`
URIs. Spark reads those itself; for plain Python file access they are opened through a mount:
under MANYMODELS_ABFSS_MOUNT when it is set (`<root>/<container>@<account>/<path>`, the layout
of the test suite's Synapse emulator), else through a job-scoped mssparkutils mount of the
container (`/synfs/<job id>/<mount point>/<path>`, visible to the driver and the executors).
"""
from __future__ import annotations

import hashlib
import os
import re

from .spec import resolve_path

_MOUNTS = (("/dbfs", "MANYMODELS_DBFS_MOUNT"), ("/Volumes", "MANYMODELS_VOLUMES_MOUNT"),
           ("/Workspace", "MANYMODELS_WORKSPACE_MOUNT"))


_ABFSS = re.compile(r"^abfss?://([^@/]+)@([^./]+)(\.[^/]+)?(?:/(.*))?$", re.IGNORECASE)
_SYNAPSE_MOUNTS: dict = {}


def abfss_parts(uri: str):
    """`(container, account, host, path)` of an abfss:// (or abfs://) URI, else None. A `.` or
    `..` segment is refused (None): it would leave the mount."""
    m = _ABFSS.match(uri.strip())
    if not m:
        return None
    container, account, suffix, rest = m.group(1), m.group(2), m.group(3) or "", m.group(4) or ""
    segments = [seg for seg in rest.split("/") if seg]
    if any(seg in (".", "..") for seg in segments):
        return None
    return container.lower(), account.lower(), account.lower() + suffix.lower(), "/".join(segments)


def _synapse_mount(container: str, host: str) -> str | None:
    """The local root of a job-scoped mount of the container on a Synapse pool, mounted on first
    use; None off Synapse (no mssparkutils). Not exercised by the test suite (no real pool)."""
    key = (container, host)
    if key in _SYNAPSE_MOUNTS:
        return _SYNAPSE_MOUNTS[key]
    try:
        from notebookutils import mssparkutils  # type: ignore  # Synapse's own utilities
    except ImportError:
        _SYNAPSE_MOUNTS[key] = None
        return None
    point = "/mm-" + hashlib.sha256(f"{container}@{host}".encode("utf-8")).hexdigest()[:12]
    # Job scope: the mount is the job's own and goes away with it. The pool's identity (or the
    # submitter's, for batches run as a user) needs Storage Blob Data Contributor on the account.
    mssparkutils.fs.mount(f"abfss://{container}@{host}", point)
    root = mssparkutils.fs.getMountPath(point)
    _SYNAPSE_MOUNTS[key] = root
    return root


def local_path(path: str) -> str:
    """`dbfs:/x` → the DBFS mount's x; `/dbfs/x`, `/Volumes/x`, `/Workspace/x` → under their
    mounts; `abfss://c@a.dfs…/x` → under MANYMODELS_ABFSS_MOUNT or a Synapse mount of the
    container (unchanged when neither exists); anything else (relative paths, other URIs, other
    absolute paths) unchanged."""
    parts = abfss_parts(path)
    if parts:
        container, account, host, rest = parts
        mount = os.environ.get("MANYMODELS_ABFSS_MOUNT")
        root = os.path.join(mount, f"{container}@{account}") if mount else _synapse_mount(container, host)
        if root is None:
            return path
        return os.path.join(root, *rest.split("/")) if rest else root
    if path.startswith("dbfs:"):
        path = "/dbfs/" + path[len("dbfs:"):].lstrip("/")
    for root, var in _MOUNTS:
        if path == root or path.startswith(root + "/"):
            mount = os.environ.get(var)
            return os.path.join(mount, path[len(root):].lstrip("/")) if mount else path
    return path


def spark_uri(path: str) -> str:
    """A path for Spark's readers and writers: the FUSE view `/dbfs/x` is `dbfs:/x` to Spark
    (a scheme-less path would be taken as dbfs:/dbfs/x on Databricks)."""
    if path == "/dbfs" or path.startswith("/dbfs/"):
        return "dbfs:/" + path[len("/dbfs"):].lstrip("/")
    return path


def spark_path(path: str) -> str:
    """A JobSpec path as Spark opens it. A relative path is the project root's, as everywhere
    in the JobSpec; URIs (abfss://, dbfs:) pass through."""
    path = spark_uri(path)
    return path if "://" in path or path.startswith("dbfs:") else resolve_path(path)
