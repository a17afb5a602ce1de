"""helm-controller: HelmRelease -> HelmChart ``<ns>-<name>`` -> Helm install/upgrade with remediation.

Messages and reasons follow docs/flux-facts.md §2 (HelmRelease status); the release storage is real Helm
storage (:mod:`runbook_lib.helm`). Failures are counted per generation; after
``spec.<action>.remediation.retries`` retries the object is Stalled with ``RetriesExceeded``.
``reconcile.fluxcd.io/forceAt`` and ``/resetAt`` are handled as ``meta.HandleAnnotationRequest`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from flux_sandbox.sim.controllers import helm_actions as actions
from flux_sandbox.sim.controllers.base import (
    FORCE_AT,
    REQUESTED_AT,
    RESET_AT,
    Controller,
    EventRecorder,
    Key,
    Obj,
    Reconcile,
    delete_condition,
    finalize_status,
    get_condition,
    is_ready,
    set_condition,
)
from flux_sandbox.sim.resources import by_kind
from flux_sandbox.sim.store import Change

HELMCHART = by_kind("HelmChart")
TIMEOUT = "5m0s"


def annotation_request(obj: Obj, annotation: str, last_handled: str | None) -> bool:
    """meta.HandleAnnotationRequest: force/reset only together with a new requestedAt."""
    ann = obj["metadata"].get("annotations") or {}
    value, requested = ann.get(annotation), ann.get(REQUESTED_AT)
    handled_reconcile = (obj.get("status") or {}).get("lastHandledReconcileAt")
    return bool(value) and value == requested and handled_reconcile != requested and last_handled != value


def target_of(hr: Obj) -> actions.Target:
    meta, spec = hr["metadata"], hr["spec"]
    target_ns = spec.get("targetNamespace")
    release = spec.get("releaseName") or (f"{target_ns}-{meta['name']}" if target_ns else meta["name"])
    return actions.Target(
        meta["name"],
        meta["namespace"],
        release,
        target_ns or meta["namespace"],
        spec.get("storageNamespace") or meta["namespace"],
    )


class HelmController(Controller):
    name = "helm-controller"
    kinds = ("HelmRelease",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kubelet = EventRecorder(self.store, "kubelet", "orbstack")

    def related(self, change: Change) -> Iterable[Key]:
        if not self.source_changed(change, ("HelmChart",), ready_too=False):
            return []
        ref = f"{change.obj['metadata']['namespace']}/{change.obj['metadata']['name']}"
        items, _ = self.store.list(by_kind("HelmRelease"))
        return [
            ("HelmRelease", h["metadata"]["namespace"], h["metadata"]["name"])
            for h in items
            if (h.get("status") or {}).get("helmChart") == ref
        ]

    # -- reconcile ---------------------------------------------------------------------------------------

    def reconcile(self, rc: Reconcile) -> float | None:
        status = copy.deepcopy(rc.obj.get("status") or {})
        force = self._annotations(rc, status)
        if status.get("lastAttemptedGeneration") != rc.gen:
            self._reset_failures(status)
        chart_obj = self._ensure_chart(rc, status)
        art = (chart_obj.get("status") or {}).get("artifact")
        chart = self.env.artifacts.get(art["path"]) if art else None
        if (
            chart is None
            or not is_ready(chart_obj)
            or chart_obj["status"].get("observedGeneration") != chart_obj["metadata"].get("generation")
        ):
            return self._chart_not_ready(rc, status, chart_obj)
        target = target_of(rc.obj)
        status["storageNamespace"] = target.storage
        values = rc.obj["spec"].get("values") or {}
        config = actions.digest(values)
        latest = (status.get("history") or [None])[0]
        action = self._action(status, latest, chart.version, config, force)
        if action is None:
            return self._in_sync(rc, status, latest)
        return self._release(rc, status, target, action, chart, values, config, art or {})

    def _annotations(self, rc: Reconcile, status: Obj) -> bool:
        ann = rc.obj["metadata"].get("annotations") or {}
        if annotation_request(rc.obj, RESET_AT, status.get("lastHandledResetAt")):
            status["lastHandledResetAt"] = ann[RESET_AT]
            self._reset_failures(status)
        if annotation_request(rc.obj, FORCE_AT, status.get("lastHandledForceAt")):
            status["lastHandledForceAt"] = ann[FORCE_AT]
            return True
        return False

    @staticmethod
    def _reset_failures(status: Obj) -> None:
        for key in ("failures", "installFailures", "upgradeFailures"):
            status.pop(key, None)
        delete_condition(status, "Stalled")

    def _ensure_chart(self, rc: Reconcile, status: Obj) -> Obj:
        meta, spec = rc.obj["metadata"], rc.obj["spec"]
        tmpl = (spec.get("chart") or {}).get("spec") or {}
        ref = tmpl.get("sourceRef") or {}
        ns = ref.get("namespace") or meta["namespace"]
        name = f"{meta['namespace']}-{meta['name']}"
        status["helmChart"] = f"{ns}/{name}"
        want = {
            "chart": tmpl.get("chart", ""),
            "version": tmpl.get("version") or "*",
            "sourceRef": {"kind": ref.get("kind", "HelmRepository"), "name": ref.get("name", "")},
            "interval": tmpl.get("interval") or spec.get("interval", "10m0s"),
            "reconcileStrategy": tmpl.get("reconcileStrategy", "ChartVersion"),
        }
        live = self.store.find(HELMCHART, ns, name)
        if live is None:
            live = self.store.create(
                HELMCHART,
                {
                    "metadata": {"name": name, "namespace": ns},
                    "spec": want,
                    "status": {"observedGeneration": -1},
                },
            )
            rc.event(
                "Normal",
                "HelmChartCreated",
                f"Created HelmChart/{ns}/{name} with SourceRef "
                f"'{want['sourceRef']['kind']}/{ns}/{want['sourceRef']['name']}'",
            )
        elif live["spec"] != want:
            live["spec"] = want
            live["metadata"].pop("resourceVersion", None)
            live = self.store.replace(HELMCHART, live)
            rc.event(
                "Normal",
                "HelmChartConfigured",
                f"Configured HelmChart/{ns}/{name} with SourceRef "
                f"'{want['sourceRef']['kind']}/{ns}/{want['sourceRef']['name']}'",
            )
        return live

    def _chart_not_ready(self, rc: Reconcile, status: Obj, chart: Obj) -> float | None:
        cond = get_condition(chart.get("status") or {}, "Ready")
        reason = (
            cond["message"]
            if cond and chart["status"].get("observedGeneration") == chart["metadata"].get("generation")
            else "latest generation of object has not been reconciled"
        )
        msg = f"HelmChart '{status['helmChart']}' is not ready: {reason}"
        set_condition(status, "Reconciling", "True", "Progressing", "Fulfilling prerequisites", rc.gen)
        set_condition(status, "Ready", "False", "SourceNotReady", msg, rc.gen)
        rc.log(msg)
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        return None

    @staticmethod
    def _action(status: Obj, latest: Obj | None, version: str, config: str, force: bool) -> str | None:
        if latest is None:
            return "install"
        if force:
            return "upgrade"
        stalled = get_condition(status, "Stalled")
        if stalled and stalled["status"] == "True":
            return None
        attempted = (status.get("lastAttemptedRevision"), status.get("lastAttemptedConfigDigest"))
        failed_before = status.get("failures") and attempted == (version, config)
        if failed_before:
            return "upgrade"
        if (
            latest["chartVersion"] != version
            or latest["configDigest"] != config
            or latest["status"] != "deployed"
        ):
            return "upgrade"
        return None

    def _in_sync(self, rc: Reconcile, status: Obj, latest: Obj | None) -> float | None:
        """No action needed. As helm-controller's atomic reconciler does: clear the failure counters,
        drop Reconciling and summarize Ready from the release conditions, so a HelmRelease that was
        not ready only because of its chart (SourceNotReady) or an earlier generation recovers."""
        stalled = get_condition(status, "Stalled")
        if not (stalled and stalled["status"] == "True"):
            rc.log("release in-sync with desired state")
            self._reset_failures(status)
            delete_condition(status, "Reconciling")
            reason, message = self._last_success(rc.obj, status, latest)
            set_condition(status, "Ready", "True", reason, message, rc.gen)
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        return None

    @staticmethod
    def _last_success(hr: Obj, status: Obj, latest: Obj | None) -> tuple[str, str]:
        """Reason and message of the last successful release action (the Released condition, else
        rebuilt from the deployed snapshot)."""
        released = get_condition(status, "Released")
        if released and released["status"] == "True":
            return released["reason"], released["message"]
        remediated = get_condition(status, "Remediated")
        if remediated and remediated["status"] == "True":
            return remediated["reason"], remediated["message"]
        if latest is None:  # not reached: _action() installs when there is no release
            return "InstallSucceeded", "Release is in-sync with desired state"
        target = target_of(hr)
        action = "install" if int(latest.get("version", 1)) == 1 else "upgrade"
        msg = (
            f"Helm {action} succeeded for release {target.namespace}/{target.release}.v{latest['version']} "
            f"with chart {latest['chartName']}@{latest['chartVersion']}"
        )
        reason = "InstallSucceeded" if action == "install" else "UpgradeSucceeded"
        set_condition(status, "Released", "True", reason, msg, int(hr["metadata"].get("generation", 1)))
        return reason, msg

    # -- install / upgrade ---------------------------------------------------------------------------------

    def _release(
        self,
        rc: Reconcile,
        status: Obj,
        target: actions.Target,
        action: str,
        chart: Any,
        values: Obj,
        config: str,
        art: Obj,
    ) -> float | None:
        running = f"Running '{action}' action with timeout of {TIMEOUT}"
        self.progress(rc, status, running)
        rc.log(running.replace("Running", "running", 1))
        status.update(
            lastAttemptedRevision=chart.version,
            lastAttemptedValuesChecksum=actions.values_checksum(values),
            lastAttemptedConfigDigest=config,
            lastAttemptedGeneration=rc.gen,
            lastAttemptedReleaseAction=action,
        )
        self.sleep()
        result = actions.run(
            self.store,
            target,
            action,
            chart,
            values,
            wait=lambda: self._stop.wait(self.timing.helm_wait),
            kubelet=self.kubelet,
        )
        status["history"] = actions.history(self.store, target)
        status["lastReleaseRevision"] = result.revision
        ver = f"{chart.name}@{chart.version}"
        verb = "install" if action == "install" else "upgrade"
        if result.ok:
            msg = (
                f"Helm {verb} succeeded for release {target.namespace}/{target.release}.v{result.revision} "
                f"with chart {ver}"
            )
            reason = "InstallSucceeded" if action == "install" else "UpgradeSucceeded"
            for cond in ("Remediated", "Stalled"):
                delete_condition(status, cond)
            set_condition(status, "Released", "True", reason, msg, rc.gen)
            set_condition(status, "Ready", "True", reason, msg, rc.gen)
            self._reset_failures(status)
            self.write_status(rc.obj, finalize_status(rc.obj, status))
            rc.event("Normal", reason, msg, chart.version, token=config, app_version=chart.app_version)
            # helm-controller logs no line for a finished action (docs/flux-facts.md §13)
            return None
        return self._failed(rc, status, target, action, ver, result, chart.app_version)

    def _failed(
        self,
        rc: Reconcile,
        status: Obj,
        target: actions.Target,
        action: str,
        ver: str,
        result: actions.ActionResult,
        app_version: str,
    ) -> float | None:
        verb = "install" if action == "install" else "upgrade"
        release = f"{target.namespace}/{target.release}"
        msg = f"Helm {verb} failed for release {release} with chart {ver}: {result.error}"
        reason = "InstallFailed" if action == "install" else "UpgradeFailed"
        count_key = "installFailures" if action == "install" else "upgradeFailures"
        status["failures"] = int(status.get("failures", 0)) + 1
        status[count_key] = int(status.get(count_key, 0)) + 1
        set_condition(status, "Released", "False", reason, msg, rc.gen)
        set_condition(status, "Ready", "False", reason, msg, rc.gen)
        # the event carries Helm's log tail; helm-controller logs no line for a failed action
        # (docs/flux-facts.md §13)
        tail = f"\n\nLast Helm logs:\n\n{result.error}"
        rc.event(
            "Warning",
            reason,
            msg + tail,
            ver.rpartition("@")[2],
            **self._event_annotations(status, app_version),
        )
        remediation = (rc.obj["spec"].get(action) or {}).get("remediation") or {}
        retries = int(remediation.get("retries", 0))
        exhausted = status[count_key] > retries
        # remediateLastFailure defaults to retries > 0 (docs/flux-facts.md §2, "HelmRelease remediation")
        last = remediation.get("remediateLastFailure", retries > 0)
        if (
            action == "upgrade"
            and remediation.get("strategy", "rollback") == "rollback"
            and (not exhausted or last)
        ):
            self._rollback(rc, status, target, ver)
        if exhausted:
            attempts = status[count_key]
            set_condition(
                status,
                "Stalled",
                "True",
                "RetriesExceeded",
                f"Failed to {verb} after {attempts} attempt(s)",
                rc.gen,
            )
            delete_condition(status, "Reconciling")
            self.write_status(rc.obj, finalize_status(rc.obj, status))
            return None
        set_condition(
            status,
            "Reconciling",
            "True",
            "ProgressingWithRetry",
            f"Running '{action}' action with timeout of {TIMEOUT}",
            rc.gen,
        )
        self.write_status(rc.obj, finalize_status(rc.obj, status))
        return self.backoff(rc)

    def _rollback(self, rc: Reconcile, status: Obj, target: actions.Target, ver: str) -> None:
        rc.log(f"running 'rollback' action with timeout of {TIMEOUT}")
        done = actions.rollback(
            self.store, target, wait=lambda: self._stop.wait(self.timing.helm_wait), kubelet=self.kubelet
        )
        if done is None:
            set_condition(
                status,
                "Stalled",
                "True",
                "MissingRollbackTarget",
                "Failed to perform remediation: missing target release for rollback",
                rc.gen,
            )
            return
        prev, new = done
        meta = new["chart"]["metadata"]
        msg = (
            f"Helm rollback to previous release {target.namespace}/{target.release}.v{prev} with chart "
            f"{meta['name']}@{meta['version']} succeeded"
        )
        status["history"] = actions.history(self.store, target)
        set_condition(status, "Remediated", "True", "RollbackSucceeded", msg, rc.gen)
        set_condition(status, "Ready", "False", "RollbackSucceeded", msg, rc.gen)
        rc.event(
            "Normal",
            "RollbackSucceeded",
            msg,
            meta["version"],
            **self._event_annotations(status, meta.get("appVersion")),
        )

    @staticmethod
    def _event_annotations(status: Obj, app_version: str | None) -> dict[str, str | None]:
        """The token (config digest) and app version helm-controller adds to its events."""
        return {"token": status.get("lastAttemptedConfigDigest"), "app_version": app_version}
