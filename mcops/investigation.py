"""What a scenario notebook needs, built once from its parameters.

    inv = Investigation.start("db_consistency", globals())
    rows = inv.check("duplicate_epochs", lambda: inv.sql("duplicate_epochs"),
                     database.duplicate_epochs)
    inv.conclude("SEV")

Sources open lazily and their state goes to summary.json. `check` is the one place a
failing source becomes a "not checked: <why>" finding, so a notebook never dies because
its service is down (its frame comes back empty; plots still draw).

What a method needs (a source's client and its library, the remediation machinery,
severity, IPython's display) is imported in that method, on first use: importing this
module loads none of them (issue 15, lean imports)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd

from mcops import bundle, plot_marks
from mcops.errors import (
    McopsError,
    RemediationError,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceUnreachable,
)
from mcops.findings import Finding
from mcops.secrets import redact_url
from mcops.sources.timewindow import parse_window, resolve_until

if TYPE_CHECKING:
    from mcops.evidence import Recorder
    from mcops.remediate import Action, ActionReport, AdminApi
    from mcops.severity import Severity
    from mcops.sources.metrics import MetricsBackend
    from mcops.sources.prometheus import PrometheusSource
    from mcops.sources.service import ServiceSource
    from mcops.thresholds import Thresholds

__all__ = ["Investigation"]


class Investigation:
    """Sources, checks and evidence for one scenario run."""

    def __init__(self, recorder: Recorder, *, thresholds: Thresholds | None = None) -> None:
        from mcops.thresholds import default_thresholds, load_thresholds

        self.recorder = recorder
        self.params: dict[str, Any] = recorder.params
        self.window: timedelta = parse_window(self.params.get("window") or "1h")
        self.until: datetime = resolve_until(self.params.get("until") or "")
        self.since: datetime = self.until - self.window
        file = self.params.get("thresholds_file") or ""
        self.thresholds = thresholds or (load_thresholds(file) if file else default_thresholds())
        self._cache: dict[str, Any] = {}

    @classmethod
    def start(cls, scenario: str, namespace: Mapping[str, Any]) -> Investigation:
        """Begin from the notebook's globals; its plots mark its logs' and audit's events."""
        from mcops.notebook import parameters_in, setup

        inv = cls(setup(scenario, **parameters_in(namespace)))
        plot_marks.use_marks(lambda: plot_marks.investigation_marks(inv))
        return inv

    # ---- sources ------------------------------------------------------------------
    def _given(self, name: str, source: str, fix: str) -> str:
        value = str(self.params.get(name) or "")
        if not value:
            self.recorder.source(source, "not given", f"{name} is empty")
            raise SourceConfigError(f"{name} is empty", source=source, fix=fix)
        return value

    def _opened(self, source: str, open_: Callable[[], Any]) -> Any:
        """The source client, built once. Its state is recorded by `record_source` at its
        first query, not here: a client that was built has not yet answered anything."""
        if source not in self._cache:
            try:
                self._cache[source] = open_()
            except SourceError as err:
                self.record_source(source, err)
                raise
        return self._cache[source]

    def record_source(self, source: str, error: SourceError | None, detail: str = "") -> None:
        """What happened when ``source`` was queried: the first failure sticks (a later
        answer does not make summary.json say "ok"); an answer before it is "ok"."""
        states: dict[str, str] = self._cache.setdefault("source_states", {})
        current = states.get(source)
        if error is None:
            if current is None:
                states[source] = "ok"
                self.recorder.source(source, "ok", detail)
            return
        if current in (None, "ok"):
            states[source] = error.state
            self.recorder.source(source, error.state, str(error))

    def _observer(self, source: str) -> Callable[[SourceError | None], None]:
        return lambda error: self.record_source(source, error)

    @property
    def database(self) -> Any:
        url = self._given("database_url", "database", "pass -p database_url=postgresql://...")
        return self._opened("database", lambda: _sql().connect(url))

    def sql(self, name: str, **params: Any) -> pd.DataFrame:
        """A named runbook query (see `mcops.sources.queries`), read-only.

        A query the database cannot answer (say, pg_stat_activity on SQLite) fails that
        check only; the database's state changes only when the connection itself fails.
        """
        engine = self.database  # "not given" / "misconfigured" are recorded there
        try:
            frame = _sql().query(engine, name, **params)
        except (SourceUnreachable, SourceAuthError) as err:
            self.record_source("database", err)
            raise
        except SourceError:  # the database answered; this query is what failed
            self.record_source("database", None)
            raise
        self.record_source("database", None)
        return frame

    @property
    def service(self) -> ServiceSource:
        from mcops.sources.service import ServiceSource

        url = self._given("service_url", "service", "pass -p service_url=http://host:8080")
        token = str(self.params.get("admin_token") or "") or None
        return self._opened(
            "service",
            lambda: ServiceSource(url, admin_token=token, observer=self._observer("service")),
        )

    @property
    def prometheus(self) -> PrometheusSource:
        from mcops.sources.prometheus import PrometheusSource

        url = self._given(
            "prometheus_url", "prometheus", "pass -p prometheus_url=..., or leave it empty"
        )
        return self._opened(
            "prometheus",
            lambda: PrometheusSource(url, observer=self._observer("prometheus")),
        )

    def logs(self) -> pd.DataFrame:
        """Log lines of the window from ``log_source`` (read once, then cached)."""
        from mcops.sources import logs as log_source

        spec = self._given("log_source", "logs", "pass -p log_source=file:PATH (or docker:, k8s:)")
        if "log_frame" not in self._cache:
            try:
                frame = log_source.read_logs(spec, since=self.since, until=self.until)
            except SourceError as err:
                self.record_source("logs", err)
                raise
            malformed = int(frame.attrs.get("malformed", 0))
            detail = f"{len(frame)} lines" + (f", {malformed} malformed" if malformed else "")
            self.record_source("logs", None, detail)
            self._cache["log_frame"] = frame
        return self._cache["log_frame"]

    @property
    def metrics(self) -> MetricsBackend:
        """The metrics backend, chosen once: Prometheus when ``prometheus_url`` is given,
        else scrapes of ``service_url/metrics``. Each reports its outcome as a source state."""
        if "metrics" not in self._cache:
            from mcops.sources.metrics import PrometheusMetrics, ScrapeMetrics

            if self.params.get("prometheus_url"):
                backend: MetricsBackend = PrometheusMetrics(
                    lambda: self.prometheus,
                    since=self.since,
                    until=self.until,
                    window_label=str(self.params.get("window") or "1h"),
                )
            else:
                backend = ScrapeMetrics(
                    self._scrape_url,
                    lambda error, detail: self.record_source("metrics", error, detail),
                )
            self._cache["metrics"] = backend
        return self._cache["metrics"]

    def _scrape_url(self) -> str:
        url = str(self.params.get("service_url") or "")
        if not url:
            why = "service_url is empty (prometheus_url too: both empty, no metrics source)"
            self.recorder.source("metrics", "not given", why)
            raise SourceConfigError(
                why,
                source="metrics",
                fix="pass -p prometheus_url=http://prometheus:9090 or -p service_url=http://host:8080",
            )
        return url

    def key_metrics(self) -> pd.DataFrame:
        """The runbooks' key metrics now (`mcops.snapshot`), from the metrics backend."""
        if "snapshot" not in self._cache:
            windows = self.thresholds.windows
            self._cache["snapshot"] = self.metrics.measure(
                "key_metrics",
                window=f"{int(windows.rate_window.total_seconds())}s",
                spawn_window=f"{int(windows.spawn_rate_window.total_seconds())}s",
            )
        return self._cache["snapshot"]

    def metric_range(
        self, name: str, *, samples: int = 3, interval: float = 1.0, **params: Any
    ) -> pd.DataFrame:
        """A PromQL template (`mcops.promql`) or a bare metric name over the window.

        Delegates to `metrics`: with Prometheus a range from ``since`` to ``until``;
        without, the bare metric from ``samples`` scrapes ``interval`` s apart, shared by
        every call. A template with functions needs Prometheus (SourceConfigError).
        """
        return self.metrics.sampling(samples=samples, interval=interval).range(name, **params)

    def database_for_actions(self) -> str | None:
        """The (driver-normalised) URL remediations write through, as diagnostics hold a
        read-only engine; None when not given or unreachable."""
        try:
            self.database  # noqa: B018 - opening it records the source state
        except SourceError:
            return None
        url = _sql().normalise_url(self.params["database_url"])
        return url.render_as_string(hide_password=False)

    def admin_api(self) -> AdminApi | None:
        """The server's admin API for remediations; None without service_url or admin_token,
        or when service_url is no http(s) URL (the service source reports that)."""
        url = str(self.params.get("service_url") or "")
        token = str(self.params.get("admin_token") or "")
        if not url or not token:
            return None
        if "admin_api" not in self._cache:
            from mcops.remediate import AdminApi

            try:
                self._cache["admin_api"] = AdminApi(url, token)
            except SourceConfigError:
                return None
        return self._cache["admin_api"]

    def probe_health(self) -> pd.DataFrame:
        """`curl /health` and `/ready`; an unreachable service is itself the finding."""
        from mcops.checks import service as service_checks

        try:  # kept in the bundle as check "health" (readiness is judged from it too)
            frame = bundle.fetched(
                "health", lambda: self.service.health(), since=self.since, until=self.until
            )
        except SourceConfigError as err:
            for check_id in ("health", "readiness"):
                self.recorder.add(Finding.not_checked(check_id, _why(err)))
            return pd.DataFrame()
        except SourceError as err:  # its state was recorded by the source's observer
            self.recorder.add(service_checks.unreachable(str(err)))
            self.recorder.add(Finding.not_checked("readiness", "the service is unreachable"))
            return pd.DataFrame()
        self.recorder.add(service_checks.health(frame))
        self.recorder.add(service_checks.readiness(frame))
        return frame

    # ---- checks and verdicts ---------------------------------------------------------
    def check(
        self,
        check_id: str,
        fetch: Callable[[], pd.DataFrame],
        judge: Callable[..., Finding],
        **judge_options: Any,
    ) -> pd.DataFrame:
        """Fetch a frame, judge it, record the finding; the frame comes back for plotting.

        A source that is not given or not reachable records "not checked: <why>" and
        returns an empty frame.
        """
        try:
            frame = bundle.fetched(check_id, fetch, since=self.since, until=self.until)
        except SourceError as err:
            self.recorder.add(Finding.not_checked(check_id, _why(err)))
            return pd.DataFrame()
        if "check" not in judge_options and _takes_check(judge):
            judge_options["check"] = check_id
        finding = judge(frame, **judge_options)
        if finding.check != check_id:
            raise McopsError(
                f"inv.check({check_id!r}, ...) got a finding for {finding.check!r} from "
                f"{getattr(judge, '__name__', judge)} — fix: name the check once, in inv.check"
            )
        self.recorder.add(finding)
        return frame

    def frame_or_empty(self, fetch: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A frame a judge can do without: empty when its source cannot answer."""
        try:
            return fetch()
        except SourceError:
            return pd.DataFrame()

    def remediate(self, action: Action, *, plan_only: bool = False) -> ActionReport | None:
        """Plan ``action``; apply exactly that plan only with ``apply_remediation`` (never
        with ``plan_only``: a fallback such as a rollback waits for a person).

        The report (plan, result, backup) is displayed and recorded for summary.json; a
        refused or failed apply is recorded too, then raised so the run stops there. When
        the target cannot even be read to make a plan (a source is down), that is
        recorded as "not planned" and None comes back: nothing was changed.
        """
        from IPython.display import Markdown, display

        from mcops.advice import expected_recovery
        from mcops.remediate import run_action

        apply = bool(self.params.get("apply_remediation")) and not plan_only
        try:
            report = run_action(action, apply=apply)
        except SourceError as err:
            why = f"not planned: {_why(err)}"
            self.recorder.remediation(_failed(action, "plan", 0, why))
            display(Markdown(f"**{type(action).__name__}** — {why}"))
            return None
        except RemediationError as err:
            mode = "apply" if apply else "plan"
            self.recorder.remediation(_failed(action, mode, err.changed, str(err)))
            raise
        display(report)
        summary = report.as_summary()
        if recovery := expected_recovery(summary["action"], thresholds=self.thresholds):
            summary["expected_recovery"] = recovery  # the runbook's "Expected recovery time"
            display(Markdown(f"Expected recovery after apply (runbook): about {recovery}."))
        self.recorder.remediation(summary)
        return report

    def record(self, *findings: Finding) -> None:
        """Keep findings judged outside `check` (several from one frame)."""
        self.recorder.add_all(findings)

    @property
    def findings(self) -> list[Finding]:
        return self.recorder.findings

    def conclude(self, scheme: str, **context: Any) -> Severity:
        """Severity from every finding so far, the overview plot, next notebooks, the
        summary (`mcops.conclusion`). ``incident_started`` (the alert's ``startsAt``) and
        ``security_suspected`` come from the parameters unless ``context`` overrides them."""
        from mcops.conclusion import conclude

        return conclude(self, scheme, context)

    @property
    def incident_started(self) -> datetime | None:
        """``incident_started`` as UTC, None when not given."""
        text = str(self.params.get("incident_started") or "")
        return resolve_until(text, name="incident_started") if text else None

    def describe_sources(self) -> pd.DataFrame:
        """Which parameters point where (passwords shown as ***), for the notebook header."""
        rows = [
            {"parameter": name, "value": redact_url(str(self.recorder.parameters.get(name, "")))}
            for name in ("service_url", "prometheus_url", "database_url", "log_source")
        ]
        window = f"{self.since:%Y-%m-%d %H:%M} → {self.until:%Y-%m-%d %H:%M} UTC"
        return pd.DataFrame([*rows, {"parameter": "window", "value": window}])


def _takes_check(judge: Callable[..., Finding]) -> bool:
    try:
        return "check" in inspect.signature(judge).parameters
    except (TypeError, ValueError):  # builtins, some partials
        return False


def _failed(action: Action, mode: str, changes: int, error: str) -> dict[str, Any]:
    """summary.json's record of a remediation that did not run to its end."""
    name = type(action).__name__
    return {"action": name, "mode": mode, "changes": changes, "backup": None, "error": error}


def _sql() -> Any:  # SQLAlchemy loads only for a run that reads a database
    from mcops.sources import sql

    return sql


def _why(err: SourceError) -> str:
    return f"{err.source}: {err}"
