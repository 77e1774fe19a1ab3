"""Where the dashboard gets its data: the HTTP API (ApiClient) or the package itself (LocalClient).

Both implement :class:`DashboardClient`; pages only ever talk to that interface, so the same page
works against a remote API or a local store.  Errors are :class:`TitansError` whose message says
what is wrong and how to fix it; there is never a silent fallback to sample data.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Generator
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import httpx
import pandas as pd

from titans_finance import domain as d
from titans_finance.domain import TransactionFilter
from titans_finance.errors import (
    AuthenticationError,
    ModelNotTrainedError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    StorageError,
    TitansError,
    ValidationError,
)
from titans_finance.frame import to_float
from titans_finance.models.catalog import MODEL_NAMES, PREDICTABLE

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from titans_finance.config import Settings
    from titans_finance.serving import ModelService

logger = logging.getLogger(__name__)


@runtime_checkable
class DashboardClient(Protocol):
    """Everything the dashboard pages read or write."""

    @property
    def source(self) -> str:
        """Human description of the data source (shown in the sidebar, used as cache key)."""
        ...

    def store_version(self) -> str:
        """A token that changes whenever transactions change."""
        ...

    def overview(self) -> dict[str, Any]:
        """What the Overview page shows, from GROUP BY reads (`insights.overview`)."""
        ...

    def transactions(self, flt: TransactionFilter | None = None) -> pd.DataFrame:
        """Canonical transactions (Date datetime64, Amount float) matching ``flt``."""
        ...

    def accounts(self) -> list[str]:
        """Account names."""
        ...

    def set_category(self, transaction_id: int, category: str) -> dict[str, Any]:
        """Correct a category (stored as feedback for the next training)."""
        ...

    def add_rule(self, rule: d.CategoryRule) -> d.CategoryRule:
        """Store a categorisation rule."""
        ...

    def rules(self) -> list[d.CategoryRule]:
        """Stored categorisation rules."""
        ...

    def mark_normal(self, transaction_id: int) -> None:
        """Store a "this is normal" anomaly feedback for a transaction."""
        ...

    def budgets(self) -> pd.DataFrame:
        """Budgets: category, month (None = every month), amount."""
        ...

    def set_budget(self, category: str, amount: Decimal, month: str | None = None) -> None:
        """Create or replace a budget."""
        ...

    def imports(self) -> list[dict[str, Any]]:
        """Past imports, newest first, with their first rejects."""
        ...

    def pipeline_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """Recent pipeline runs, newest first, with their model decisions."""
        ...

    def import_file(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Import an uploaded export file; returns the import summary (FileSummary.to_dict).

        A given ``mapping`` (ColumnMapping keys) is used and remembered for the layout."""
        ...

    def preview_import(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What importing the file would store, nothing stored (ImportPreview.to_dict)."""
        ...

    def predict(self, kind: str, frame: pd.DataFrame) -> pd.DataFrame:
        """Predictions of model ``kind`` (category, amount, anomaly) for a canonical frame."""
        ...

    def recurring(self) -> pd.DataFrame:
        """Recurring streams detected in the stored transactions."""
        ...

    def forecast(self, days: int = 30) -> tuple[pd.DataFrame, dict[str, Any]]:
        """Cash-flow forecast: (daily frame, summary dict)."""
        ...

    def model_status(self) -> list[dict[str, Any]]:
        """One dict per model type: model_type, trained, version, trained_at, metrics, ..."""
        ...

    def train(self, model_type: str = "all") -> list[dict[str, Any]]:
        """Train a model (or all) on the stored transactions; returns their metadata."""
        ...

    def model_health(self) -> dict[str, Any]:
        """The monitoring report of the serving models (GET /models/health's body)."""
        ...


def _empty_transactions() -> pd.DataFrame:
    columns = ["id", *d.CANONICAL_COLUMNS, d.BALANCE, d.MERCHANT]
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    frame[d.AMOUNT] = frame[d.AMOUNT].astype(float)
    return frame


@contextlib.contextmanager
def _uploaded(name: str, content: bytes) -> Generator[Path, None, None]:
    """An uploaded file's bytes in a temporary file (its suffix kept for format detection)."""
    with tempfile.TemporaryDirectory(prefix="titans-upload-") as folder:
        path = Path(folder) / f"upload{Path(name).suffix[:10]}"
        path.write_bytes(content)
        yield path


# -- local -----------------------------------------------------------------------------------------
class LocalClient:
    """The dashboard over the package's own functions and the configured store."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: Engine | None = None
        self._models: ModelService | None = None

    @property
    def source(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            url = make_url(self._settings.database_url).render_as_string(hide_password=True)
        except Exception:
            url = "the configured database"
        return f"local store {url}"

    @property
    def engine(self) -> Engine:
        """The migrated engine of the configured store (StorageError with a fix if unreachable)."""
        if self._engine is None:
            from titans_finance.storage.db import get_engine

            try:
                self._engine = get_engine(self._settings.database_url)
            except StorageError as exc:
                raise StorageError(
                    f"{exc.message}. Check TITANS_DATABASE_URL (now "
                    f"{self.source.removeprefix('local store ')}) and that the database "
                    "is running."
                ) from exc
        return self._engine

    def store_version(self) -> str:
        from titans_finance.storage.repository import store_version

        return store_version(self.engine)

    def overview(self) -> dict[str, Any]:
        from titans_finance.insights import overview

        return overview(self.engine)

    def transactions(self, flt: TransactionFilter | None = None) -> pd.DataFrame:
        from titans_finance.storage.repository import load_transactions

        return load_transactions(self.engine, flt)

    def accounts(self) -> list[str]:
        from titans_finance.storage.repository import list_accounts

        return list_accounts(self.engine)

    def set_category(self, transaction_id: int, category: str) -> dict[str, Any]:
        from titans_finance.storage.repository import set_category

        return set_category(self.engine, transaction_id, category)

    def add_rule(self, rule: d.CategoryRule) -> d.CategoryRule:
        from titans_finance.storage.repository import add_rule

        return add_rule(self.engine, rule)

    def rules(self) -> list[d.CategoryRule]:
        from titans_finance.storage.repository import list_rules

        return list_rules(self.engine)

    def mark_normal(self, transaction_id: int) -> None:
        from titans_finance.storage.repository import add_anomaly_feedback

        add_anomaly_feedback(self.engine, transaction_id=transaction_id)

    def budgets(self) -> pd.DataFrame:
        from titans_finance.storage.repository import list_budgets

        return list_budgets(self.engine)

    def set_budget(self, category: str, amount: Decimal, month: str | None = None) -> None:
        from titans_finance.storage.repository import set_budget

        set_budget(self.engine, category, amount, month)

    def imports(self) -> list[dict[str, Any]]:
        from titans_finance.storage.repository import list_imports

        return [asdict(record) for record in list_imports(self.engine)]

    def pipeline_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        from titans_finance.storage.pipeline_runs import list_runs

        return list_runs(self.engine, limit=limit)

    def import_file(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from titans_finance.ingest.pipeline import ingest_file

        with _uploaded(name, content) as path:
            summary = ingest_file(
                self.engine,
                path,
                file_format=file_format,
                account=account,
                mapping=mapping,
                display_name=name,
            )
        return summary.to_dict()

    def preview_import(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from titans_finance.ingest.preview import preview_file

        with _uploaded(name, content) as path:
            preview = preview_file(
                path,
                file_format=file_format,
                account=account,
                mapping=mapping,
                engine=self.engine,
                display_name=name,
            )
        return preview.to_dict()

    def _service(self) -> ModelService:
        """The model service, reloaded when the models on disk changed since the last call."""
        from titans_finance.serving import ModelService

        if self._models is None:
            self._models = ModelService(Path(self._settings.models_dir))
            self._models.load()
        else:
            on_disk = {
                s["model_type"]: s.get("version") for s in self.model_status() if s["trained"]
            }
            loaded = {
                name: self._models.models.version(name)
                for name in on_disk.keys() | set(self._models.models.models)
            }
            if on_disk != {k: v for k, v in loaded.items() if v is not None}:
                self._models.reload()
        from titans_finance.storage.repository import list_anomaly_feedback, list_rules

        self._models.set_rules(list_rules(self.engine))
        self._models.set_anomaly_feedback(list_anomaly_feedback(self.engine))
        return self._models

    def predict(self, kind: str, frame: pd.DataFrame) -> pd.DataFrame:
        if kind not in PREDICTABLE:
            raise ValidationError(f"unknown prediction {kind!r}; choose {PREDICTABLE}")
        return self._service().predict(kind, frame)

    def recurring(self) -> pd.DataFrame:
        streams: pd.DataFrame = self._service().recurring_streams()
        return streams

    def forecast(self, days: int = 30) -> tuple[pd.DataFrame, dict[str, Any]]:
        result = self._service().forecast(days)
        return result.daily, dict(result.summary)

    def model_status(self) -> list[dict[str, Any]]:
        from titans_finance.models.base import read_metadata

        status = []
        for model_type in MODEL_NAMES:
            folder = Path(self._settings.models_dir) / model_type
            try:
                meta = read_metadata(folder, model_type).to_dict()
                status.append({"model_type": model_type, "trained": True, **meta})
            except TitansError as exc:
                status.append({"model_type": model_type, "trained": False, "error": exc.message})
        return status

    def model_health(self) -> dict[str, Any]:
        from titans_finance.monitoring import build_report

        return build_report(self.engine, self._service().models.models, self._settings)

    def train(self, model_type: str = "all") -> list[dict[str, Any]]:
        from titans_finance.training import train_model

        if model_type != "all" and model_type not in MODEL_NAMES:
            raise ValidationError(f"unknown model {model_type!r}; choose {', '.join(MODEL_NAMES)}")
        frame = self.transactions()
        kinds = MODEL_NAMES if model_type == "all" else (model_type,)
        results = []
        for kind in kinds:
            try:
                result = train_model(
                    kind, frame, Path(self._settings.models_dir), settings=self._settings
                )
                results.append({"ok": True, **result.to_dict()})
            except TitansError as exc:
                results.append({"model_type": kind, "ok": False, "error": exc.message})
        return results


# -- API -------------------------------------------------------------------------------------------
class TokenAuth(httpx.Auth):
    """A logged-in user's bearer token for httpx, renewed through POST /auth/refresh on a 401."""

    requires_response_body = True

    def __init__(self, username: str, tokens: dict[str, Any], refresh_url: str) -> None:
        self.username = username
        self.refresh_url = refresh_url
        self.access_token = str(tokens["access_token"])
        self.refresh_token = str(tokens["refresh_token"])

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Send with the access token; on 401 renew the pair once and send again."""
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        response = yield request
        if response.status_code != 401:
            return
        renewed = yield httpx.Request(
            "POST", self.refresh_url, json={"refresh_token": self.refresh_token}
        )
        if not renewed.is_success:
            return  # the 401 stands: the caller asks for a new login
        body = renewed.json()
        self.access_token = str(body["access_token"])
        self.refresh_token = str(body["refresh_token"])
        request.headers["Authorization"] = f"Bearer {self.access_token}"
        yield request


def login(
    base_url: str, username: str, password: str, *, http: httpx.Client | None = None
) -> ApiClient:
    """An ApiClient carrying ``username``'s token from POST /auth/token.

    AuthenticationError with the API's message for wrong credentials or a 429 throttle;
    StorageError when the API is unreachable.
    """
    import httpx

    base_url = base_url.rstrip("/")
    own = http is None
    client = http or httpx.Client(base_url=base_url, timeout=60.0)
    try:
        response = client.post("/auth/token", json={"username": username, "password": password})
    except httpx.TransportError as exc:
        if own:
            client.close()
        raise StorageError(
            f"API at {base_url} is unreachable ({type(exc).__name__}): start it with "
            "`titans serve` to log in"
        ) from exc
    if not response.is_success:
        if own:
            client.close()
        detail = _error_detail(response)
        if response.status_code == 401:
            raise AuthenticationError("wrong username or password")
        if response.status_code == 429:
            raise AuthenticationError(detail)
        if response.status_code == 503:
            raise ServiceUnavailableError(f"the API cannot log users in: {detail}")
        raise AuthenticationError(f"login failed (HTTP {response.status_code}): {detail}")
    return ApiClient(
        base_url, http=client, auth=TokenAuth(username, response.json(), f"{base_url}/auth/refresh")
    )


_BATCH_ROWS = 5000
_PAGE_ROWS = 1000  # the API's largest page
_IMPORT_PAGE = 500  # the largest page of GET /imports
_BATCH_FLAGS = {
    "category": {"predict_categories": True, "detect_anomalies": False, "predict_amounts": False},
    "amount": {"predict_categories": False, "detect_anomalies": False, "predict_amounts": True},
    "anomaly": {"predict_categories": False, "detect_anomalies": True, "predict_amounts": False},
}
_BATCH_COLUMNS = {
    "category": "predicted_category",
    "category_source": "source",
    "amount_lower": "lower",
    "amount_upper": "upper",
}


def _upload_form(
    account: str | None, file_format: str, mapping: dict[str, Any] | None
) -> dict[str, str]:
    """The form fields of an upload: format, and account and mapping (JSON) when given."""
    import json

    data = {"format": file_format}
    if account:
        data["account"] = account
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    return data


class ApiClient:
    """The dashboard over the Titans HTTP API (``titans serve``).

    ``http`` may be any ``httpx.Client`` already pointing at the API (e.g. FastAPI's
    TestClient); otherwise one is created for ``base_url``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 60.0,
        http: httpx.Client | None = None,
        auth: TokenAuth | None = None,
    ) -> None:
        import httpx

        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.Client(base_url=self.base_url, timeout=timeout)
        self._auth = auth
        if auth is not None:
            self._http.auth = auth
        elif api_key:
            self._http.headers["Authorization"] = f"Bearer {api_key}"

    @property
    def token_auth(self) -> TokenAuth | None:
        """The logged-in user's tokens (None with an API key or no credentials)."""
        return self._auth

    @property
    def username(self) -> str | None:
        """The logged-in user, None with an API key or no credentials."""
        return self._auth.username if self._auth is not None else None

    @property
    def source(self) -> str:
        # the user is part of the source, so cached reads are never shared between users
        who = f" as {self._auth.username}" if self._auth is not None else ""
        return f"API at {self.base_url}{who}"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise StorageError(
                f"API at {self.base_url} is unreachable ({type(exc).__name__}): start it with "
                "`titans serve`, or unset TITANS_DASHBOARD_API_URL to read the local store"
            ) from exc
        if self._auth is not None and response.status_code == 401:
            raise AuthenticationError("your session has expired: log out and log in again")
        if self._auth is not None and response.status_code == 403:
            raise PermissionDeniedError(f"your role may not do this: {_error_detail(response)}")
        if response.status_code in (401, 403):
            raise ValidationError(
                f"API at {self.base_url} refused the API key (HTTP {response.status_code}): set "
                "TITANS_DASHBOARD_API_KEY to one of the server's TITANS_API_KEYS"
            )
        if response.is_success:
            return response.json() if response.content else None
        message = _error_detail(response)
        if response.status_code == 404:
            raise NotFoundError(message)
        if response.status_code == 503:
            raise ModelNotTrainedError(message)
        if response.status_code in (413, 415, 422):
            raise ValidationError(message)
        raise StorageError(
            f"API at {self.base_url} answered HTTP {response.status_code}: {message}"
        )

    def store_version(self) -> str:
        return str(self._request("GET", "/store/version")["version"])

    def overview(self) -> dict[str, Any]:
        body: dict[str, Any] = self._request("GET", "/insights/overview")
        return {key: value for key, value in body.items() if key != "success"}

    def transactions(self, flt: TransactionFilter | None = None) -> pd.DataFrame:
        flt = flt or TransactionFilter()
        params: dict[str, Any] = {
            "sort": flt.sort,
            "order": "desc" if flt.descending else "asc",
            "account": list(flt.accounts),
            "category": list(flt.categories),
            "type": list(flt.types),
        }
        for key, value in (
            ("date_from", flt.date_from),
            ("date_to", flt.date_to),
            ("q", flt.text),
            ("min_amount", flt.min_amount),
            ("max_amount", flt.max_amount),
        ):
            if value is not None:
                params[key] = value.isoformat() if isinstance(value, date) else str(value)
        wanted = flt.limit
        offset = flt.offset
        rows: list[dict[str, Any]] = []
        while True:
            size = _PAGE_ROWS if wanted is None else min(_PAGE_ROWS, wanted - len(rows))
            if size <= 0:
                break
            body = self._request(
                "GET", "/transactions", params={**params, "limit": size, "offset": offset}
            )
            items = body.get("items") or []
            rows.extend(items)
            offset += len(items)
            if len(items) < size or offset >= int(body.get("total") or 0):
                break
        if not rows:
            return _empty_transactions()
        return _frame_from_records(rows)

    def accounts(self) -> list[str]:
        frame = self.transactions()
        return sorted(frame[d.ACCOUNT].dropna().astype(str).unique()) if len(frame) else []

    def set_category(self, transaction_id: int, category: str) -> dict[str, Any]:
        body: dict[str, Any] = self._request(
            "PATCH", f"/transactions/{transaction_id}", json={"category": category}
        )
        return body

    def add_rule(self, rule: d.CategoryRule) -> d.CategoryRule:
        payload: dict[str, Any] = {k: v for k, v in asdict(rule).items() if k != "id"}
        payload["kind"] = rule.kind.value
        for key in ("min_amount", "max_amount"):
            if payload[key] is not None:
                payload[key] = str(payload[key])
        body = self._request("POST", "/rules", json=payload)
        return d.rule_from_dict(body)

    def rules(self) -> list[d.CategoryRule]:
        body = self._request("GET", "/rules")
        return [d.rule_from_dict(item) for item in body.get("rules", [])]

    def mark_normal(self, transaction_id: int) -> None:
        self._request("POST", f"/transactions/{transaction_id}/normal")

    def budgets(self) -> pd.DataFrame:
        body = self._request("GET", "/budgets")
        frame = pd.DataFrame(body.get("budgets") or [], columns=["category", "month", "amount"])
        frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
        frame["month"] = frame["month"].astype(object).where(frame["month"].notna(), None)
        return frame[["category", "month", "amount"]]

    def set_budget(self, category: str, amount: Decimal, month: str | None = None) -> None:
        self._request(
            "PUT", "/budgets", json={"category": category, "amount": str(amount), "month": month}
        )

    def pipeline_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        body = self._request("GET", "/pipeline/runs", params={"limit": limit})
        return list(body.get("items") or [])

    def imports(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            body = self._request(
                "GET", "/imports", params={"limit": _IMPORT_PAGE, "offset": len(items)}
            )
            page = body.get("items") or []
            items.extend(page)
            if len(page) < _IMPORT_PAGE or len(items) >= int(body.get("total") or 0):
                break
        # the local client's shape: created_at as str(datetime), rejects as line/reason/raw
        return [
            {**item, "created_at": str(datetime.fromisoformat(item["created_at"]))}
            for item in items
        ]

    def import_file(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._upload("/transactions/import", name, content, account, file_format, mapping)

    def preview_import(
        self,
        name: str,
        content: bytes,
        *,
        account: str | None = None,
        file_format: str = "auto",
        mapping: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._upload(
            "/transactions/import/preview", name, content, account, file_format, mapping
        )

    def _upload(
        self,
        route: str,
        name: str,
        content: bytes,
        account: str | None,
        file_format: str,
        mapping: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """POST a file with the import form fields (account, format, mapping) to ``route``."""
        body: dict[str, Any] = self._request(
            "POST",
            route,
            files={"file": (name, content)},
            data=_upload_form(account, file_format, mapping),
        )
        return body

    def predict(self, kind: str, frame: pd.DataFrame) -> pd.DataFrame:
        if kind not in PREDICTABLE:
            raise ValidationError(f"unknown prediction {kind!r}; choose {PREDICTABLE}")
        records = _records_for_json(frame)
        if len(records) == 1:
            return pd.DataFrame([self._predict_one(kind, records[0])], index=frame.index)
        results: list[dict[str, Any]] = []
        for start in range(0, len(records), _BATCH_ROWS):
            body = self._request(
                "POST",
                "/predict/batch",
                json={"transactions": records[start : start + _BATCH_ROWS], **_BATCH_FLAGS[kind]},
            )
            results.extend(body.get("results") or [])
        out = pd.DataFrame(results).drop(columns=["index"], errors="ignore")
        out = out.rename(columns=_BATCH_COLUMNS)
        out.index = frame.index
        return out

    def _predict_one(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        body = self._request("POST", f"/predict/{kind}", json=record)
        if kind == "category":
            return {
                "predicted_category": body.get("prediction"),
                "confidence": body.get("confidence"),
                "confidence_level": body.get("confidence_level"),
                "alternatives": body.get("alternatives") or [],
                "source": body.get("source"),
                "model_version": body.get("model_version"),
            }
        if kind == "amount":
            lower, upper = (body.get("confidence_interval") or [None, None])[:2]
            return {
                "predicted_amount": body.get("predicted_amount"),
                "lower": lower,
                "upper": upper,
                "model_version": body.get("model_version"),
            }
        keys = ("anomaly_score", "is_anomaly", "risk_level", "reasons", "model_version")
        return {key: body.get(key) for key in keys}

    def recurring(self) -> pd.DataFrame:
        body = self._request("GET", "/recurring")
        streams = pd.DataFrame(body.get("streams") or [])
        for column in ("first_date", "last_date", "next_expected_date"):
            if column in streams:
                streams[column] = pd.to_datetime(streams[column])
        return streams

    def forecast(self, days: int = 30) -> tuple[pd.DataFrame, dict[str, Any]]:
        body = self._request("POST", "/predict/cashflow", json={"forecast_days": days})
        daily = pd.DataFrame(body.get("forecast") or []).rename(
            columns={
                "predicted_amount": "predicted_net",
                "balance": "predicted_balance",
                "account": d.ACCOUNT,
            }
        )
        summary = dict(body.get("summary") or {})
        if "net_cashflow" in summary:
            summary["net"] = summary.pop("net_cashflow")
        if len(daily):
            daily["date"] = pd.to_datetime(daily["date"])
            summary.setdefault("horizon_days", len(daily))
            summary.setdefault("end_balance", float(daily["predicted_balance"].iloc[-1]))
            summary.setdefault(
                "start_balance",
                float(daily["predicted_balance"].iloc[0] - daily["predicted_net"].iloc[0]),
            )
        return daily, summary

    def model_status(self) -> list[dict[str, Any]]:
        body = self._request("GET", "/models/performance")
        out = []
        for name, entry in (body.get("models") or {}).items():
            out.append({"model_type": name, "trained": bool(entry.get("loaded")), **entry})
        return out

    def model_health(self) -> dict[str, Any]:
        body: dict[str, Any] = self._request("GET", "/models/health")
        return body

    def train(self, model_type: str = "all") -> list[dict[str, Any]]:
        raise ValidationError(
            "the API does not train models: run `titans train "
            f"{model_type}` where the API's models live, then reload them "
            "(POST /models/reload-all)"
        )


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict):
        detail = body.get("detail", body.get("message", body))
        return detail if isinstance(detail, str) else str(detail)
    return str(body)


_FIELD_NAMES = {
    "date": d.DATE,
    "type": d.TYPE,
    "description": d.DESCRIPTION,
    "amount": d.AMOUNT,
    "category": d.CATEGORY,
    "payment_method": d.PAYMENT_METHOD,
    "status": d.STATUS,
    "reference": d.REFERENCE,
    "receipt_url": d.RECEIPT_URL,
    "account": d.ACCOUNT,
    "currency": d.CURRENCY,
    "balance": d.BALANCE,
    "merchant": d.MERCHANT,
}


def _frame_from_records(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """API records (snake_case or canonical keys) as a canonical frame."""
    frame = pd.DataFrame(rows).rename(columns=_FIELD_NAMES)
    frame[d.DATE] = pd.to_datetime(frame[d.DATE])
    for column in (d.AMOUNT, d.BALANCE):
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def _records_for_json(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A canonical frame as the API's transaction records (only the fields it accepts)."""
    reverse = {v: k for k, v in _FIELD_NAMES.items()}
    out = frame.rename(columns=reverse)
    out = out[[c for c in d.RECORD_FIELDS if c in out]].copy()
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"]).dt.strftime("%Y-%m-%d")
    if "amount" in out:
        out["amount"] = to_float(out["amount"])
    records = out.astype(object).where(out.notna(), None).to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in records]


def make_client(settings: Settings) -> DashboardClient:
    """ApiClient when ``dashboard_api_url`` is set, else LocalClient over the configured store."""
    url = getattr(settings, "dashboard_api_url", None)
    if url:
        key = getattr(settings, "dashboard_api_key", None)
        secret = key.get_secret_value() if key is not None else None
        return ApiClient(url, secret)
    return LocalClient(settings)


__all__ = [
    "ApiClient",
    "DashboardClient",
    "LocalClient",
    "TokenAuth",
    "login",
    "make_client",
]
