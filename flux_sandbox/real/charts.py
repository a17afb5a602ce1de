"""The sandbox's Helm chart repositories: packaged charts and ``index.yaml`` made in Python.

Two repositories, served by :class:`~.servers.StaticServer` under ``/kite/`` and ``/jetstack/``:

- ``kite``: a small chart of the Kite dashboard (Deployment, Service, Ingress) in the versions the
  GitOps repository's history uses (0.6.2, 0.6.3) plus 0.7.0, whose image tag v0.7.0 does not exist
  in the (simulated) registry: kwok lets such a container end in ``ImagePullBackOff``.
  0.6.9 (the ``chart-version-missing`` scenario) is deliberately not in the index.
- ``jetstack``: a ``cert-manager`` chart v1.21.1 with cert-manager's real CRDs (from the pinned Go
  module) in Helm's ``crds/`` folder, and a Deployment ``cert-manager`` whose pod kwok runs. The
  cert-manager controller itself does not run in this engine (see the README).

A packaged chart is a gzip'ed tar with the folder ``<name>/``; the index lists each version with its
sha256 digest and its URL, as ``helm repo index`` writes it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ._shared import MISSING_TAG

KITE_IMAGE = "ghcr.io/zxh326/kite"
#: images the sandbox's registry does not have: kwok gives such containers ImagePullBackOff
MISSING_IMAGES = (f"{KITE_IMAGE}:{MISSING_TAG}",)
KITE_VERSIONS = ("0.6.2", "0.6.3", MISSING_TAG.lstrip("v"))
CERT_MANAGER_VERSION = "v1.21.1"
#: a fixed time for the archive members and the index: the same input gives the same digest
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

KITE_VALUES = """\
# Standardwerte des Kite-Charts (Sandbox-Nachbau des Charts von https://zxh326.github.io/kite)
replicaCount: 1
image:
  repository: ghcr.io/zxh326/kite
  # leer = appVersion des Charts
  tag: ""
  pullPolicy: IfNotPresent
resources: {}
host: kite.local
service:
  port: 8080
ingress:
  enabled: false
  className: ""
  tls: false
"""

KITE_HELPERS = """\
{{- define "kite.labels" -}}
app.kubernetes.io/name: kite
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}
{{- define "kite.selector" -}}
app.kubernetes.io/name: kite
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
"""

KITE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "kite.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      {{- include "kite.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "kite.selector" . | nindent 8 }}
    spec:
      containers:
        - name: kite
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: 8080
          env:
            - name: KITE_HOST
              value: {{ .Values.host | quote }}
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
"""

KITE_SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "kite.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- include "kite.selector" . | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
"""

KITE_INGRESS = """\
{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}
  labels:
    {{- include "kite.labels" . | nindent 4 }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- if .Values.ingress.tls }}
  tls:
    - hosts:
        - {{ .Values.host | quote }}
      secretName: {{ .Release.Name }}-tls
  {{- end }}
  rules:
    - host: {{ .Values.host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ .Release.Name }}
                port:
                  name: http
{{- end }}
"""

CERT_MANAGER_VALUES = """\
# Sandbox-Nachbau des cert-manager-Charts: CRDs und der Controller-Deployment
crds:
  enabled: false
image:
  repository: quay.io/jetstack/cert-manager-controller
resources: {}
"""

CERT_MANAGER_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cert-manager
  namespace: {{ .Release.Namespace }}
  labels:
    app.kubernetes.io/name: cert-manager
    app.kubernetes.io/instance: {{ .Release.Name }}
    app.kubernetes.io/component: controller
    app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: cert-manager
      app.kubernetes.io/instance: {{ .Release.Name }}
      app.kubernetes.io/component: controller
  template:
    metadata:
      labels:
        app.kubernetes.io/name: cert-manager
        app.kubernetes.io/instance: {{ .Release.Name }}
        app.kubernetes.io/component: controller
    spec:
      containers:
        - name: cert-manager-controller
          image: "{{ .Values.image.repository }}:{{ .Chart.AppVersion }}"
          {{- with .Values.resources }}
          resources:
            {{- toYaml . | nindent 12 }}
          {{- end }}
"""


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    app_version: str
    description: str
    files: dict[str, str]

    def package(self) -> bytes:
        """The ``.tgz`` as ``helm package`` makes it: every file under ``<name>/``."""
        raw = io.BytesIO()
        chart_yaml = yaml.safe_dump(
            {
                "apiVersion": "v2",
                "name": self.name,
                "version": self.version,
                "appVersion": self.app_version,
                "description": self.description,
                "type": "application",
            },
            sort_keys=False,
        )
        with tarfile.open(fileobj=raw, mode="w") as tar:
            for path, text in {"Chart.yaml": chart_yaml, **self.files}.items():
                data = text.encode("utf-8")
                info = tarfile.TarInfo(f"{self.name}/{path}")
                info.size = len(data)
                info.mtime = int(EPOCH.timestamp())
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        return gzip.compress(raw.getvalue(), mtime=int(EPOCH.timestamp()))


def kite_charts() -> list[Chart]:
    files = {
        "values.yaml": KITE_VALUES,
        "templates/_helpers.tpl": KITE_HELPERS,
        "templates/deployment.yaml": KITE_DEPLOYMENT,
        "templates/service.yaml": KITE_SERVICE,
        "templates/ingress.yaml": KITE_INGRESS,
    }
    return [
        Chart("kite", version, f"v{version}", "Kite – ein modernes Kubernetes-Dashboard", files)
        for version in KITE_VERSIONS
    ]


def cert_manager_chart(crd_dir: Path | None) -> Chart:
    files = {"values.yaml": CERT_MANAGER_VALUES, "templates/deployment.yaml": CERT_MANAGER_DEPLOYMENT}
    if crd_dir is not None and crd_dir.is_dir():
        for path in sorted(crd_dir.glob("*.yaml")):
            text = path.read_text(encoding="utf-8")
            files[f"templates/crds/{path.name}"] = (
                "{{- if .Values.crds.enabled }}\n" + text + "\n{{- end }}\n"
            )
    return Chart(
        "cert-manager",
        CERT_MANAGER_VERSION,
        CERT_MANAGER_VERSION,
        "A Helm chart for cert-manager (Sandbox: CRDs und Controller-Deployment)",
        files,
    )


def write_repository(folder: Path, base_url: str, charts: list[Chart]) -> None:
    """Write ``<folder>/index.yaml`` and ``<folder>/<name>-<version>.tgz`` for ``charts``."""
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict[str, list[dict[str, object]]] = {}
    for chart in charts:
        data = chart.package()
        filename = f"{chart.name}-{chart.version}.tgz"
        (folder / filename).write_bytes(data)
        entries.setdefault(chart.name, []).append(
            {
                "apiVersion": "v2",
                "name": chart.name,
                "version": chart.version,
                "appVersion": chart.app_version,
                "description": chart.description,
                "type": "application",
                "created": EPOCH.isoformat().replace("+00:00", "Z"),
                "digest": hashlib.sha256(data).hexdigest(),
                "urls": [f"{base_url.rstrip('/')}/{filename}"],
            }
        )
    for versions in entries.values():
        versions.sort(key=lambda e: [int(x) for x in str(e["version"]).lstrip("v").split(".")], reverse=True)
    index = {"apiVersion": "v1", "entries": entries, "generated": EPOCH.isoformat().replace("+00:00", "Z")}
    (folder / "index.yaml").write_text(
        yaml.safe_dump(index, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
