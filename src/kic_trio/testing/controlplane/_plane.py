"""``ControlPlane``: a real etcd + kube-apiserver on loopback, for tests, benchmarks and demos.

Started the way controller-runtime's envtest starts them (client-certificate users, RBAC,
no controller-manager), with everything in one temporary folder that is removed on stop.

It is Trio-native (``trio.lowlevel.open_process``, ``httpx.AsyncClient``)::

    async with ControlPlane() as cp:
        ... cp.kubeconfig ...

and also offers a blocking ``start()``/``stop()`` for a session-scoped pytest fixture: those
run the async code in a private ``trio.run`` on a worker thread, so they work whether or not
the caller is inside Trio. The child processes outlive that run; Trio's ``Process`` waits on a
pidfd, so a later ``trio.run`` (a test calling :meth:`restart_apiserver`, or ``stop()``) can
still wait for them.

What a bare control plane does not do (no controller-manager): namespaces stay
``Terminating`` after deletion, nothing is garbage-collected, Services get no EndpointSlices.
``ControlPlane(workloads=True)`` adds kube-controller-manager, kube-scheduler and KWOK with a
fake Node (see :mod:`._workloads`): opt-in, for the Gateway API conformance run, whose echo
Deployments must become Ready Pods.
"""

from __future__ import annotations

import base64
import concurrent.futures
import contextlib
import logging
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx
import trio
import yaml

from ._assets import crd_dirs, ensure_assets
from ._build import KWOK_STAGES, BuildError, ensure_binaries
from ._certs import CertAuthority, CertPair, service_account_keys
from ._guard import Guard
from ._workloads import (
    controller_manager_args,
    create_fake_node,
    kwok_args,
    scheduler_args,
    wait_workloads_ready,
    write_kwok_config,
)

log = logging.getLogger("kic_trio.testing.controlplane")

_T = TypeVar("_T")

_CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


class ControlPlaneError(RuntimeError):
    """A component did not start or did not become ready; the message carries its log tail."""


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the kernel picks it: port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def default_crd_dirs() -> list[Path]:
    """The CRD folders installed when no ``crd_dir`` is given: Kong's, then the Gateway API's.

    Both come by pinned version from the Go module proxy into the cache (:mod:`._assets`);
    this fetches them on first use.
    """
    return crd_dirs(ensure_assets())


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _run_blocking(fn: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``fn`` in a fresh ``trio.run`` on a worker thread (safe even inside a Trio run)."""
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="controlplane") as ex:
        return ex.submit(trio.run, fn).result()


class _Child:
    """One child process (etcd or kube-apiserver) with its log file."""

    def __init__(
        self, name: str, proc: trio.Process, log_path: Path, guard: Guard | None = None
    ) -> None:
        self.name = name
        self.proc = proc
        self.log_path = log_path
        self.guard = guard

    @classmethod
    async def spawn(
        cls, name: str, args: Sequence[str], log_path: Path, guard: Guard | None = None
    ) -> _Child:
        with log_path.open("ab") as out:
            proc = await trio.lowlevel.open_process(
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a terminal's Ctrl-C must not kill etcd before kube-apiserver;
                # we stop them ourselves, in order.
                start_new_session=True,
            )
        if guard is not None:
            # ... which also means nothing stops it if we die: the guard will.
            guard.watch_pid(proc.pid, Path(args[0]))
        return cls(name, proc, log_path, guard)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise ControlPlaneError(
                f"{self.name} exited with {self.proc.returncode}; last log lines:\n{_tail(self.log_path)}"
            )

    async def stop(self, timeout: float) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds. Shielded: always reaps the child."""
        with trio.CancelScope(shield=True):
            try:
                await self._stop(timeout)
            finally:
                if self.guard is not None and self.proc.returncode is not None:
                    self.guard.forget_pid(self.proc.pid)

    async def _stop(self, timeout: float) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        self.proc.send_signal(signal.SIGCONT)  # a paused child only acts on it once resumed
        with trio.move_on_after(timeout):
            await self.proc.wait()
            return
        log.warning("%s did not stop within %.0fs after SIGTERM; killing it", self.name, timeout)
        self.proc.kill()
        await self.proc.wait()


class ControlPlane:
    """etcd + kube-apiserver on 127.0.0.1 with free ports, an admin kubeconfig and the CRDs.

    The CRDs are Kong's and the Gateway API's (experimental channel), at pinned versions from
    the Go module proxy (cached; see :mod:`._assets`), or those in ``crd_dir`` when given.

    Attributes set once started: ``dir`` (temporary folder), ``kubeconfig`` (admin, group
    ``system:masters``), ``url`` (``https://127.0.0.1:<port>``), ``etcd_url``, ``ca_cert``.
    """

    def __init__(
        self,
        *,
        crd_dir: str | Path | None = None,
        install_crds: bool = True,
        bin_dir: str | Path | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 20.0,
        apiserver_args: Sequence[str] = (),
        workloads: bool = False,
    ) -> None:
        self._crd_dir = Path(crd_dir) if crd_dir is not None else None
        self._install_crds = install_crds
        self._bin_dir = Path(bin_dir) if bin_dir is not None else None
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self._extra_args = tuple(apiserver_args)
        #: Also run kube-controller-manager, kube-scheduler and KWOK (opt-in; :mod:`._workloads`).
        self.workloads = workloads
        self._workload_children: list[_Child] = []
        self._etcd: _Child | None = None
        self._apiserver: _Child | None = None
        self._dir: Path | None = None
        self._guard: Guard | None = None
        self._ca: CertAuthority | None = None
        self._serving: CertPair | None = None
        self._sa: CertPair | None = None
        self._admin: CertPair | None = None
        self.api_port = 0
        self.etcd_port = 0
        self.kubeconfig = Path()
        #: Bearer token of a second admin user (``token-admin``, group ``system:masters``).
        self.admin_token = ""
        #: Kinds of the CRDs installed at start (``plural.group``).
        self.crds: list[str] = []

    # ------------------------------------------------------------------ properties

    @property
    def dir(self) -> Path:
        if self._dir is None:
            raise ControlPlaneError("the control plane is not started")
        return self._dir

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"

    @property
    def etcd_url(self) -> str:
        return f"http://127.0.0.1:{self.etcd_port}"

    @property
    def ca_cert(self) -> Path:
        assert self._ca is not None, "not started"
        return self._ca.cert_path

    @property
    def bin_dir(self) -> Path:
        return self._bin_dir or ensure_binaries()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> ControlPlane:
        await self.astart()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.astop()

    def start(self) -> ControlPlane:
        """Blocking start (for sync code such as a session-scoped pytest fixture)."""
        _run_blocking(self.astart)
        return self

    def stop(self) -> None:
        """Blocking stop: both processes ended, temporary folder removed."""
        _run_blocking(self.astop)

    async def astart(self) -> None:
        """Start etcd, then kube-apiserver; wait until ready; install the CRDs."""
        if self._dir is not None:
            raise ControlPlaneError("already started")
        workloads = self.workloads
        bins = self._bin_dir or await trio.to_thread.run_sync(
            lambda: ensure_binaries(workloads=workloads)
        )
        self._bin_dir = bins
        # Read (fetching on first use) before the start timeout runs: a cold fetch is a download.
        crd_docs = await trio.to_thread.run_sync(self._crd_documents) if self._install_crds else []
        self._dir = Path(tempfile.mkdtemp(prefix="kic-trio-cp-"))
        try:
            self._guard = Guard()
            self._guard.watch_dir(self._dir)
            certs = self._dir / "certs"
            certs.mkdir()
            self._ca = CertAuthority.create(certs)
            self._serving = self._ca.issue_server()
            self._sa = service_account_keys(certs)
            self._admin = self._ca.issue_client("admin", ["system:masters"], stem="admin")
            self.etcd_port = free_port()
            self.api_port = free_port()
            self.kubeconfig = self._write_kubeconfig(
                self._dir / "kubeconfig", self._admin, self.url
            )
            # A static bearer token for the admin too: tests of token handling (401 -> re-read
            # credentials) need a token user. kube-apiserver reads this file once, at start.
            self.admin_token = secrets.token_urlsafe(24)
            tokens = certs / "tokens.csv"
            tokens.write_text(f'{self.admin_token},token-admin,token-admin,"system:masters"\n')
            tokens.chmod(0o600)
            with trio.fail_after(self.start_timeout):
                await self._start_etcd()
                await self.start_apiserver()
                if crd_docs:
                    await self._install_crds_now(crd_docs)
                if self.workloads:
                    await self._start_workloads()
        except BaseException:
            with trio.CancelScope(shield=True):
                await self.astop()
            raise

    async def astop(self) -> None:
        """Stop kube-apiserver, then etcd (SIGTERM, SIGKILL after ``stop_timeout``); remove the folder."""
        with trio.CancelScope(shield=True):
            # The workload controllers first: they talk to kube-apiserver, never the reverse.
            for child in (*reversed(self._workload_children), self._apiserver, self._etcd):
                if child is not None:
                    await child.stop(self.stop_timeout)
            self._workload_children = []
            self._apiserver = self._etcd = None
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
            if self._guard is not None:
                self._guard.close()
                self._guard = None

    # ------------------------------------------------------------------ etcd

    async def _start_etcd(self) -> None:
        etcd = self.bin_dir / "etcd"
        args = [
            str(etcd),
            f"--data-dir={self.dir / 'etcd-data'}",
            f"--listen-client-urls={self.etcd_url}",
            f"--advertise-client-urls={self.etcd_url}",
            f"--listen-peer-urls=http://127.0.0.1:{free_port()}",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]
        self._etcd = await _Child.spawn("etcd", args, self.dir / "etcd.log", self._guard)
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                self._etcd.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    r = await client.get(f"{self.etcd_url}/health")
                    if r.status_code == 200:
                        return
                await trio.sleep(0.1)

    async def _etcd_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10.0) as client:
            r = await client.post(f"{self.etcd_url}{path}", json=body)
            r.raise_for_status()
            data: dict[str, Any] = r.json()
            return data

    async def etcd_revision(self) -> int:
        """etcd's current revision (read through its HTTP/JSON gRPC gateway)."""
        data = await self._etcd_post(
            "/v3/kv/range", {"key": base64.b64encode(b"\0").decode(), "limit": 1}
        )
        return int(data["header"]["revision"])

    async def compact_etcd(self) -> int:
        """Compact etcd's history up to now, so older resourceVersions answer 410 Gone.

        Note: kube-apiserver serves watches from its watch cache; an RV the cache still holds
        keeps working. Restart kube-apiserver after compacting to make old RVs expire for sure.
        Returns the revision compacted to.
        """
        rev = await self.etcd_revision()
        await self._etcd_post("/v3/kv/compaction", {"revision": str(rev), "physical": True})
        return rev

    # ------------------------------------------------------------------ kube-apiserver

    def _apiserver_args(self, port: int) -> list[str]:
        assert self._ca is not None and self._serving is not None and self._sa is not None
        return [
            str(self.bin_dir / "kube-apiserver"),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.dir / 'certs'}",
            f"--tls-cert-file={self._serving.cert}",
            f"--tls-private-key-file={self._serving.key}",
            f"--client-ca-file={self._ca.cert_path}",
            "--service-cluster-ip-range=10.96.0.0/16",  # room for benchmark-sized clusters
            f"--service-account-issuer=https://127.0.0.1:{port}/",
            f"--service-account-key-file={self._sa.cert}",
            f"--service-account-signing-key-file={self._sa.key}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
            f"--token-auth-file={self.dir / 'certs' / 'tokens.csv'}",
            *self._extra_args,
        ]

    def _ssl_context(self, pair: CertPair | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.ca_cert))
        pair = pair or self._admin
        assert pair is not None
        ctx.load_cert_chain(str(pair.cert), str(pair.key))
        return ctx

    def admin_client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` authenticated as the admin, based at :attr:`url`."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.AsyncClient(base_url=self.url, verify=self._ssl_context(), **kwargs)

    def admin_client_sync(self, **kwargs: Any) -> httpx.Client:
        """Blocking variant of :meth:`admin_client` (for sync fixtures)."""
        kwargs.setdefault("timeout", 10.0)
        return httpx.Client(base_url=self.url, verify=self._ssl_context(), **kwargs)

    async def _spawn_apiserver(self, port: int, log_name: str) -> _Child:
        child = await _Child.spawn(
            "kube-apiserver", self._apiserver_args(port), self.dir / log_name, self._guard
        )
        base = f"https://127.0.0.1:{port}"
        async with httpx.AsyncClient(
            base_url=base, verify=self._ssl_context(), timeout=5.0
        ) as client:
            while True:
                child.check_alive()
                with contextlib.suppress(httpx.HTTPError):
                    ready = await client.get("/readyz")
                    if ready.status_code == 200:
                        ns = await client.get("/api/v1/namespaces/default")
                        if ns.status_code == 200:
                            return child
                await trio.sleep(0.2)

    async def start_apiserver(self) -> None:
        """Start kube-apiserver on :attr:`api_port` and wait for ``/readyz`` and ``default``."""
        if self._apiserver is not None and self._apiserver.proc.poll() is None:
            raise ControlPlaneError("kube-apiserver is already running")
        with trio.fail_after(self.start_timeout):
            self._apiserver = await self._spawn_apiserver(self.api_port, "kube-apiserver.log")

    async def stop_apiserver(self, timeout: float = 5.0) -> None:
        """Stop kube-apiserver only; etcd keeps running (and its data).

        SIGTERM, then SIGKILL after ``timeout`` (5 s): with watches open kube-apiserver can take
        over 20 s to drain, and a fault test wants the outage, not the wait.
        """
        if self._apiserver is not None:
            await self._apiserver.stop(min(timeout, self.stop_timeout))
            self._apiserver = None

    def pause_apiserver(self) -> None:
        """SIGSTOP kube-apiserver: its connections stay open but go silent (a dead stream)."""
        assert self._apiserver is not None, "kube-apiserver is not running"
        self._apiserver.proc.send_signal(signal.SIGSTOP)

    def resume_apiserver(self) -> None:
        """SIGCONT kube-apiserver after :meth:`pause_apiserver`."""
        assert self._apiserver is not None, "kube-apiserver is not running"
        self._apiserver.proc.send_signal(signal.SIGCONT)

    async def restart_apiserver(self, stop_timeout: float = 5.0) -> None:
        """Stop kube-apiserver and start it again on the same port with the same etcd."""
        await self.stop_apiserver(stop_timeout)
        await self.start_apiserver()

    @contextlib.asynccontextmanager
    async def extra_apiserver(self) -> AsyncIterator[Path]:
        """A second kube-apiserver on the same etcd (another port); yields its admin kubeconfig.

        Lets a test change the cluster while the main kube-apiserver is down, as a client
        talking to one replica of an HA control plane would experience it.
        """
        assert self._admin is not None
        port = free_port()
        with trio.fail_after(self.start_timeout):
            child = await self._spawn_apiserver(port, f"kube-apiserver-{port}.log")
        try:
            path = self._write_kubeconfig(
                self.dir / f"kubeconfig-{port}", self._admin, f"https://127.0.0.1:{port}"
            )
            yield path
        finally:
            await child.stop(self.stop_timeout)

    # ------------------------------------------------------------------ workloads (opt-in)

    async def _start_workloads(self) -> None:
        """kube-controller-manager, kube-scheduler, KWOK + its fake Node; wait until they work."""
        assert self._ca is not None and self._sa is not None
        bins = self.bin_dir
        specs = [
            (
                "kube-controller-manager",
                controller_manager_args(
                    bins / "kube-controller-manager",
                    self.kubeconfig,
                    self._sa.key,
                    self._ca.cert_path,
                    "10.244.0.0/16",
                ),
            ),
            ("kube-scheduler", scheduler_args(bins / "kube-scheduler", self.kubeconfig)),
            (
                "kwok",
                kwok_args(
                    bins / "kwok",
                    self.kubeconfig,
                    write_kwok_config(self.dir / "kwok.yaml", bins / KWOK_STAGES),
                ),
            ),
        ]
        for name, args in specs:
            child = await _Child.spawn(name, args, self.dir / f"{name}.log", self._guard)
            self._workload_children.append(child)
        async with self.admin_client() as client:
            await create_fake_node(client)
            async with trio.open_nursery() as nursery:

                async def watchdog() -> None:
                    while True:
                        for child in self._workload_children:
                            child.check_alive()
                        await trio.sleep(0.2)

                nursery.start_soon(watchdog)
                await wait_workloads_ready(client)
                nursery.cancel_scope.cancel()

    def workload_logs(self) -> dict[str, Path]:
        """The log file of each workload controller (for a harness that reports failures)."""
        return {child.name: child.log_path for child in self._workload_children}

    def workload_pids(self) -> dict[str, int]:
        """The PID of each running workload controller (empty unless ``workloads=True``)."""
        return {child.name: child.proc.pid for child in self._workload_children}

    # ------------------------------------------------------------------ users and kubeconfigs

    def _write_kubeconfig(self, path: Path, pair: CertPair, server: str) -> Path:
        # File references, not *-data: kr8s writes *-data to temp files it never removes.
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kic-trio-test",
                    "cluster": {"server": server, "certificate-authority": str(self.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": "user",
                    "user": {"client-certificate": str(pair.cert), "client-key": str(pair.key)},
                }
            ],
            "contexts": [
                {
                    "name": "kic-trio-test",
                    "context": {"cluster": "kic-trio-test", "user": "user", "namespace": "default"},
                }
            ],
            "current-context": "kic-trio-test",
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)
        return path

    def token_kubeconfig(self, token: str, path: Path | None = None) -> Path:
        """Write (or overwrite) a kubeconfig that authenticates with ``token``; return its path.

        Any token other than :attr:`admin_token` is answered with 401 (tests of credential
        rotation write a wrong one, then the right one).
        """
        path = path or self.dir / "kubeconfig-token"
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kic-trio-test",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca_cert)},
                }
            ],
            "users": [{"name": "user", "user": {"token": token}}],
            "contexts": [
                {"name": "kic-trio-test", "context": {"cluster": "kic-trio-test", "user": "user"}}
            ],
            "current-context": "kic-trio-test",
        }
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)
        return path

    def add_user(self, name: str, groups: Sequence[str] = ()) -> Path:
        """Issue a client certificate for ``name`` in ``groups``; return a kubeconfig for it.

        The user starts with no permissions beyond the ``system:authenticated`` defaults:
        grant them with (Cluster)Roles and bindings, as for RBAC tests.
        """
        assert self._ca is not None, "not started"
        pair = self._ca.issue_client(name, groups)
        safe = pair.cert.stem
        return self._write_kubeconfig(self.dir / f"kubeconfig-{safe}", pair, self.url)

    # ------------------------------------------------------------------ CRDs

    def _crd_documents(self) -> list[dict[str, Any]]:
        if self._crd_dir is not None and not self._crd_dir.is_dir():
            raise ControlPlaneError(f"CRD folder {self._crd_dir} does not exist")
        try:
            dirs = [self._crd_dir] if self._crd_dir is not None else default_crd_dirs()
        except BuildError as exc:
            raise ControlPlaneError(
                f"Kong's and the Gateway API's CRDs are not cached and could not be fetched: {exc}\n"
                "Run `python -m kic_trio.testing.controlplane assets`, or pass crd_dir="
            ) from exc
        docs: list[dict[str, Any]] = []
        for d in dirs:
            for f in sorted(d.glob("*.y*ml")):
                docs.extend(
                    doc
                    for doc in yaml.safe_load_all(f.read_text())
                    if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition"
                )
        return docs

    async def _install_crds_now(self, docs: list[dict[str, Any]]) -> None:
        names = [d["metadata"]["name"] for d in docs]
        async with self.admin_client() as client:
            for doc in docs:
                r = await client.post(_CRD_PATH, json=doc)
                if r.status_code not in (201, 409):
                    raise ControlPlaneError(
                        f"installing CRD {doc['metadata']['name']}: {r.status_code} {r.text[:500]}"
                    )
            await wait_crds_established(client, names)
        self.crds = names


async def wait_crds_established(client: httpx.AsyncClient, names: Sequence[str]) -> None:
    """Poll until every named CRD has condition ``Established=True`` (it is then served)."""
    pending = set(names)
    while pending:
        for name in sorted(pending):
            r = await client.get(f"{_CRD_PATH}/{name}")
            if r.status_code == 200:
                conds = (r.json().get("status") or {}).get("conditions") or []
                if any(c.get("type") == "Established" and c.get("status") == "True" for c in conds):
                    pending.discard(name)
        if pending:
            await trio.sleep(0.1)
