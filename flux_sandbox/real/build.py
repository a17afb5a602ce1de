"""Build every component of the real engine into ``<cache>/<key>/bin/`` (stdlib only).

    python -m flux_sandbox.real.build            # build what is missing, print one line per binary
    python -m flux_sandbox.real.build --print-dir  # only print the cache folder

Each component is built on its own (see :mod:`.versions`); a binary that is already in the cache
is skipped, so a second run costs seconds. The Flux controllers' CRDs and manager manifests (and the
``flux install`` bases of the flux2 module) are copied from the module cache into
``<cache>/<key>/manifests/<component>/``. Build logs go to ``<cache>/<key>/logs/``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .versions import COMPONENTS, GO_DIR, Component, cache_dir

#: written last into a finished cache folder: the versions and the build time of each binary
STAMP = "build.json"


class BuildError(Exception):
    """A German message naming the component that failed."""


def human(seconds: float) -> str:
    """``4 min 12 s``, ``38 s``, ``0,4 s``: the way the progress lines show durations."""
    if seconds < 10:
        return f"{seconds:.1f} s".replace(".", ",")
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def say(line: str) -> None:
    print(line, flush=True)


def go_env() -> dict[str, str]:
    env = dict(os.environ)
    # No automatic toolchain download: a module that wants a newer Go must fail with a clear message.
    env.setdefault("GOTOOLCHAIN", "local")
    env["CGO_ENABLED"] = "0"
    env.setdefault("GOFLAGS", "-buildvcs=false")
    return env


def check_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise BuildError(
            "Go wurde nicht gefunden. Für die echte Engine wird Go 1.26 oder neuer benötigt "
            "(`go version` muss funktionieren)."
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, env=go_env(), check=False)
    version = out.stdout.strip()
    match = re.match(r"go(\d+)\.(\d+)", version)
    if not match or (int(match[1]), int(match[2])) < (1, 26):
        raise BuildError(
            f"Go {version or '(unbekannt)'} ist zu alt: die Komponenten brauchen Go 1.26 oder neuer."
        )
    return version


def module_dir(comp: Component, log: Path) -> Path:
    """Download the component's module (source) into the module cache; return its folder."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{comp.module}@{comp.version}"],
        capture_output=True,
        text=True,
        env=go_env(),
        cwd=log.parent,
        check=False,
    )
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        info = {"Error": proc.stderr.strip() or "keine Ausgabe"}
    if proc.returncode != 0 or "Error" in info or "Dir" not in info:
        log.write_text(proc.stdout + proc.stderr, encoding="utf-8")
        raise BuildError(
            f"Das Modul {comp.module}@{comp.version} (Komponente {comp.name}) ließ sich nicht laden: "
            f"{info.get('Error', proc.stderr.strip())}"
        )
    return Path(info["Dir"])


def _writable_copy(src: Path, dst: Path) -> Path:
    """Copy a (read-only) module tree so that generated files can be added."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True)
    for root, dirs, files in os.walk(dst):
        for name in dirs + files:
            path = Path(root) / name
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
    dst.chmod(dst.stat().st_mode | 0o200)
    return dst


def _yaml_docs(folder: Path) -> list[str]:
    """The YAML files of a kustomize folder (without its kustomization.yaml), sorted."""
    return [
        p.read_text(encoding="utf-8")
        for p in sorted(folder.glob("*.yaml"))
        if p.name not in ("kustomization.yaml", "labels.yaml", "patch.yaml")
    ]


def _flux_cli_manifests(flux_src: Path, out: Path) -> None:
    """``cmd/flux/manifests/*.yaml``: the flux2 release bundles them with kustomize from release
    assets; here each controller's file is its CRDs and manager manifests from the module versions
    pinned in :mod:`.versions` (only ``flux install``/``bootstrap`` read these files)."""
    target = flux_src / "cmd" / "flux" / "manifests"
    target.mkdir(parents=True, exist_ok=True)
    for comp in COMPONENTS:
        if comp.name.endswith("-controller"):
            docs: list[str] = []
            for sub in comp.manifests:
                docs += _yaml_docs(out / "manifests" / comp.name / sub)
            (target / f"{comp.name}.yaml").write_text("---\n".join(docs), encoding="utf-8")
    (target / "rbac.yaml").write_text(
        "---\n".join(_yaml_docs(flux_src / "manifests" / "rbac")), encoding="utf-8"
    )
    (target / "policies.yaml").write_text(
        "---\n".join(_yaml_docs(flux_src / "manifests" / "policies")), encoding="utf-8"
    )


def build_dir(comp: Component, out: Path, log: Path) -> Path:
    """The folder ``go build`` runs in for a ``module`` or ``gomod`` component."""
    if comp.method == "gomod":
        # a copy, so that nothing is ever written into the checkout
        return _writable_copy(GO_DIR / comp.name, out / "src" / comp.name)
    copy = _writable_copy(module_dir(comp, log), out / "src" / comp.name)
    if comp.name == "flux":
        _flux_cli_manifests(copy, out)
    return copy


def go_build(comp: Component, binary: str, package: str, out: Path) -> None:
    log = out / "logs" / f"{binary}.log"
    target = out / "bin" / binary
    tmp = target.with_name(binary + ".tmp")
    flags = ["-trimpath"]
    if comp.ldflags:
        flags += ["-ldflags", comp.ldflags]
    if comp.method == "install":
        env = go_env()
        env["GOBIN"] = str(out / "gobin")
        cmd = ["go", "install", *flags, f"{package}@{comp.version}"]
        cwd = out
    else:
        env = go_env()
        cwd = build_dir(comp, out, log)
        if comp.method == "gomod":
            # the committed go.sum pins every module; -mod=mod only fills in what a newer Go might want
            flags.append("-mod=mod")
        cmd = ["go", "build", *flags, "-o", str(tmp), package]
    with log.open("w", encoding="utf-8") as handle:
        handle.write(f"$ (cd {cwd} && {' '.join(cmd)})\n")
        handle.flush()
        proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-12:]
        raise BuildError(
            f"Der Bau von {binary} (Komponente {comp.name}, {comp.module} {comp.version}) ist "
            f"fehlgeschlagen; vollständiges Protokoll: {log}\n" + "\n".join(f"    {line}" for line in tail)
        )
    if comp.method == "install":
        built = out / "gobin" / Path(package).name
        built.replace(target)
    else:
        tmp.replace(target)


def copy_manifests(comp: Component, out: Path) -> bool:
    """Copy the component's manifest folders from the module cache; False when already there."""
    if not comp.manifests:
        return False
    dest = out / "manifests" / comp.name
    marker = manifest_marker(comp)
    if (dest / ".done").exists() and (dest / ".done").read_text(encoding="utf-8") == marker:
        return False
    shutil.rmtree(dest, ignore_errors=True)
    src = module_dir(comp, out / "logs" / f"{comp.name}-manifests.log")
    for sub in comp.manifests:
        folder = dest / sub
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted((src / sub).glob("*.yaml")):
            shutil.copyfile(path, folder / path.name)
    (dest / ".done").write_text(marker, encoding="utf-8")
    return True


def manifest_marker(comp: Component) -> str:
    return f"{comp.module}@{comp.version}\n" + "".join(f"{sub}\n" for sub in comp.manifests)


def build(out: Path | None = None, only: set[str] | None = None) -> Path:
    """Build what is missing; return the cache folder. Raises BuildError (German) on failure."""
    out = out or cache_dir()
    for sub in ("bin", "logs", "manifests", "src"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    go = check_go()
    stamp_path = out / STAMP
    stamp = json.loads(stamp_path.read_text(encoding="utf-8")) if stamp_path.exists() else {}
    times: dict[str, float] = stamp.get("seconds", {})
    started = time.monotonic()
    built_any = False
    # manifests first: the flux CLI embeds the controllers' manifests
    for comp in COMPONENTS:
        if (only is None or comp.name in only) and comp.manifests:
            t0 = time.monotonic()
            if copy_manifests(comp, out):
                took = human(time.monotonic() - t0)
                say(f"✔ Manifeste von {comp.name} ({comp.module} {comp.version}, {took})")
    for comp in COMPONENTS:
        if only is not None and comp.name not in only:
            continue
        for binary, package in comp.binaries.items():
            if (out / "bin" / binary).exists():
                say(f"✔ {binary} ist schon gebaut ({comp.module} {comp.version})")
                continue
            say(f"► baue {binary} ({comp.module} {comp.version}) …")
            t0 = time.monotonic()
            go_build(comp, binary, package, out)
            times[binary] = round(time.monotonic() - t0, 1)
            built_any = True
            say(f"✔ {binary} ({human(times[binary])})")
    total = time.monotonic() - started
    stamp = {
        "go": go,
        "components": {c.name: f"{c.module}@{c.version}" for c in COMPONENTS},
        "seconds": times,
    }
    stamp_path.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(out / "gobin", ignore_errors=True)
    verb = "gebaut" if built_any else "schon vorhanden"
    say(f"✔ Alle Komponenten {verb} in {out} ({human(total)})")
    return out


def is_built(out: Path | None = None) -> bool:
    """True when every binary and every manifest folder is in the cache folder."""
    out = out or cache_dir()
    binaries = all((out / "bin" / b).exists() for c in COMPONENTS for b in c.binaries)
    manifests = all(
        (out / "manifests" / c.name / ".done").exists()
        and (out / "manifests" / c.name / ".done").read_text(encoding="utf-8") == manifest_marker(c)
        for c in COMPONENTS
        if c.manifests
    )
    return binaries and manifests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m flux_sandbox.real.build",
        description="Baut Kubernetes, etcd, kwok und die Flux-Controller für die echte Sandbox-Engine.",
    )
    parser.add_argument("--print-dir", action="store_true", help="nur den Cache-Ordner ausgeben")
    parser.add_argument("--only", help="nur diese Komponenten (kommagetrennt, z. B. kwok,etcd)")
    args = parser.parse_args(argv)
    if args.print_dir:
        print(cache_dir())
        return 0
    only = set(args.only.split(",")) if args.only else None
    try:
        build(only=only)
    except BuildError as exc:
        print(f"✗ {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("✗ Bau abgebrochen.", file=sys.stderr, flush=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
