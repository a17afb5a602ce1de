"""The cluster's PKI, made with the ``openssl`` command line tool into ``DIR/pki/``.

- ``ca.crt``/``ca.key``: the cluster CA (client CA of the API server, CA in every kubeconfig)
- ``apiserver.crt``: serving certificate for 127.0.0.1/localhost and the in-cluster names
- ``admin.crt``: client certificate ``CN=kubernetes-admin, O=system:masters`` (the admin kubeconfig)
- ``kube-controller-manager.crt``, ``kube-scheduler.crt``: the components' own identities
- ``kwok.crt``: serving certificate of kwok's kubelet-like server (logs)
- ``sa.key``/``sa.pub``: the service account token signing key
- ``runbook-<role>.crt``: the users of the shipped RBAC roles (:mod:`.roles`)
"""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import EngineError

DAYS = "3650"


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EngineError(
            f"openssl {args[0]} ist fehlgeschlagen: {proc.stderr.strip()}",
            "Ist das Paket openssl installiert (`openssl version`)?",
        )


@dataclass(frozen=True)
class Pki:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / name

    @property
    def ca(self) -> Path:
        return self.path("ca.crt")

    def cert(self, name: str) -> Path:
        return self.path(f"{name}.crt")

    def key(self, name: str) -> Path:
        return self.path(f"{name}.key")

    def b64(self, path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    def ensure(self) -> Pki:
        """Create every key and certificate that is missing (a reused DIR keeps its PKI)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        if not self.ca.exists():
            self._key("ca")
            _openssl(
                "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", DAYS,
                "-subj", "/CN=runbook-sandbox-ca", "-out", "ca.crt", cwd=self.folder,
            )  # fmt: skip
        if not self.path("sa.pub").exists():
            self._key("sa")
            _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=self.folder)
        serving_names = [
            "DNS:localhost",
            "DNS:kubernetes",
            "DNS:kubernetes.default",
            "DNS:kubernetes.default.svc",
            "DNS:kubernetes.default.svc.cluster.local",
            "IP:127.0.0.1",
            "IP:10.96.0.1",
        ]
        self._signed("apiserver", "/CN=kube-apiserver", server=serving_names)
        self._signed("admin", "/O=system:masters/CN=kubernetes-admin")
        self._signed("kube-controller-manager", "/CN=system:kube-controller-manager")
        self._signed("kube-scheduler", "/CN=system:kube-scheduler")
        self._signed("kwok", "/CN=kwok", server=["DNS:localhost", "IP:127.0.0.1"])
        return self

    def client(self, name: str, subject: str) -> str:
        """A client certificate ``name`` with ``subject`` (``/O=group/CN=user``), made once; its name."""
        self._signed(name, subject)
        return name

    def _key(self, name: str) -> None:
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", f"{name}.key", cwd=self.folder)  # fmt: skip
        self.key(name).chmod(0o600)

    def _signed(self, name: str, subject: str, server: list[str] | None = None) -> None:
        if self.cert(name).exists():
            return
        self._key(name)
        ext = self.path(f"{name}.ext")
        usage = "serverAuth" if server else "clientAuth"
        lines = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if server:
            lines.append("subjectAltName=" + ",".join(server))
        ext.write_text("\n".join(lines) + "\n", encoding="utf-8")
        _openssl(
            "req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=self.folder
        )
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", DAYS, "-sha256", "-extfile", ext.name, "-out", f"{name}.crt", cwd=self.folder,
        )  # fmt: skip
        ext.unlink()
        self.path(f"{name}.csr").unlink()
