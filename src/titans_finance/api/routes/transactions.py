"""Stored transactions: import an export file, list with filters, correct, mark normal."""

from __future__ import annotations

import codecs
import datetime as dt
import logging
import re
import tempfile
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
from fastapi import (
    APIRouter,
    File,
    Form,
    HTTPException,
    Query,
    UploadFile,
    status,
)
from fastapi import (
    Path as PathParam,
)
from starlette.concurrency import run_in_threadpool

from titans_finance import domain as d
from titans_finance.api import schemas as s
from titans_finance.api.deps import EngineDep, ReadDep, StateDep, WriteDep
from titans_finance.auth import store
from titans_finance.auth.scopes import Principal
from titans_finance.errors import NotFoundError, TitansError, ValidationError
from titans_finance.ingest.readers import FORMAT_CHOICES, SUPPORTED_EXTENSIONS
from titans_finance.serving import frame_records
from titans_finance.storage import repository
from titans_finance.storage.tables import MAX_ID

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/transactions", tags=["transactions"])
# Uploads get their own router so the app can give them the larger upload size limit.
import_router = APIRouter(prefix="/transactions", tags=["transactions"])

ALLOWED_SUFFIXES = SUPPORTED_EXTENSIONS
if TYPE_CHECKING:
    FileFormat = str
else:  # the registry's names as a Literal, so a bad value gets the usual literal_error 422
    FileFormat = Literal[FORMAT_CHOICES]
SortField = Literal["date", "amount", "description", "category", "id", "merchant", "account"]
TransactionId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="Transaction id")]
_SNIFF_BYTES = 8192
# UTF-16/32 text has NUL bytes but is not binary when it starts with its byte-order mark.
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_COPY_CHUNK = 1 << 20


def _safe_name(filename: str | None) -> str:
    """The upload's base name without path parts or control characters."""
    name = PurePath((filename or "upload").replace("\\", "/")).name
    name = re.sub(r"[^\w.\- ]", "_", name)[:200]
    return name or "upload"


def _too_large(limit: int) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_413_CONTENT_TOO_LARGE,
        detail=f"file: the upload exceeds the maximum of {limit} bytes (TITANS_MAX_UPLOAD_BYTES)",
    )


async def _save_upload(upload: UploadFile, target: Path, limit: int) -> int:
    """Copy the upload to ``target`` in chunks, enforcing ``limit``; returns the size."""
    size = 0
    with target.open("wb") as out:
        while chunk := await upload.read(_COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            out.write(chunk)
    return size


_UPLOAD_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"model": s.ErrorResponse, "description": "File too large"},
    415: {"model": s.ErrorResponse, "description": "Not a supported file type"},
}
_MAPPING_HELP = (
    "Column mapping as JSON (the `mapping` of a preview, edited): which column feeds each "
    "field, `sign` (as_is|invert), `dayfirst`, `decimal`, ..."
)


def _mapping_form(text: str | None) -> dict[str, Any] | None:
    """The ``mapping`` form field as a validated mapping dict (422 when it is not one)."""
    import json

    from titans_finance.ingest.mapping import coerce_mapping, mapping_document

    if text is None or not text.strip():
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ValidationError(
            f"mapping: not valid JSON ({getattr(exc, 'msg', 'nested too deeply')})"
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError("mapping: a JSON object of field -> column is expected")
    try:
        return mapping_document(coerce_mapping(data))
    except TitansError as exc:
        raise ValidationError(exc.message.replace("invalid column mapping", "mapping")) from exc


async def _with_upload(
    state: Any, file: UploadFile, account: str | None, work: Any, **kwargs: Any
) -> Any:
    """Check the upload (type, size, not binary), save it to a temporary file and run
    ``work(path, display_name=..., **kwargs)`` in the thread pool; messages name the upload."""
    if account is not None and "\x00" in account:
        raise ValidationError("account: NUL characters (\\u0000) are not allowed in text")
    name = _safe_name(file.filename)
    suffix = PurePath(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise HTTPException(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"file: {name!r} is not a supported export; use one of "
            f"{', '.join(sorted(ALLOWED_SUFFIXES))}",
        )
    limit = state.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise _too_large(limit)
    head = await file.read(_SNIFF_BYTES)
    if not head.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, detail="file: the upload is empty"
        )
    if b"\x00" in head and not head.startswith(_WIDE_BOMS):
        raise HTTPException(
            status_code=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            detail=f"file: {name!r} looks binary; upload a text export (CSV, OFX, QIF, XML)",
        )
    await file.seek(0)
    with tempfile.TemporaryDirectory(prefix="titans-upload-") as tmp:
        target = Path(tmp) / f"upload{suffix}"
        await _save_upload(file, target, limit)
        try:
            return await run_in_threadpool(
                work, target, account=account, display_name=name, **kwargs
            )
        except TitansError as exc:  # messages name the upload, never the temporary folder
            exc.message = exc.message.replace(str(target), name).replace(tmp, "upload")
            raise


_UPLOAD_FORMATS = "CSV, OFX/QFX, QIF, CAMT, MT940/MT942, XLSX/XLS/ODS, PDF or Berka"


@import_router.post(
    "/import",
    response_model=s.ImportResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Import a bank export file",
    responses=_UPLOAD_ERRORS,
)
async def import_file(
    state: StateDep,
    engine: EngineDep,
    principal: WriteDep,
    file: Annotated[UploadFile, File(description=_UPLOAD_FORMATS)],
    account: Annotated[str | None, Form(max_length=100)] = None,
    file_format: Annotated[FileFormat, Form(alias="format")] = "auto",
    mapping: Annotated[str | None, Form(max_length=20_000, description=_MAPPING_HELP)] = None,
) -> Any:
    """Read, validate, de-duplicate and store the file in one transaction; returns the summary.

    A caller limited to accounts may only import rows of those accounts (403 otherwise,
    nothing stored). A given mapping is remembered for the next file of the same layout.
    """
    principal.require_account(account, required=False)
    from titans_finance.ingest.pipeline import ingest_file

    summary = await _with_upload(
        state,
        file,
        account,
        lambda path, **kw: ingest_file(engine, path, **kw),
        file_format=file_format,
        mapping=_mapping_form(mapping),
        allowed_accounts=principal.accounts,
    )
    await run_in_threadpool(
        store.record_audit,
        engine,
        actor=principal.actor,
        action="import",
        target=str(summary.import_id),
        detail=summary.counts(),
    )
    return {"success": True, **summary.to_dict()}


@import_router.post(
    "/import/preview",
    response_model=s.ImportPreviewResponse,
    summary="Preview the import of a bank export file (nothing is stored)",
    responses=_UPLOAD_ERRORS,
)
async def preview_import(
    state: StateDep,
    engine: EngineDep,
    principal: WriteDep,
    file: Annotated[UploadFile, File(description=_UPLOAD_FORMATS)],
    account: Annotated[str | None, Form(max_length=100)] = None,
    file_format: Annotated[FileFormat, Form(alias="format")] = "auto",
    mapping: Annotated[str | None, Form(max_length=20_000, description=_MAPPING_HELP)] = None,
) -> Any:
    """Detected layout, the mapping used, the first rows as they would be stored, and the
    rows that would be skipped or rejected; same scope and account rules as the import (403
    for rows of accounts the caller may not change), stores nothing."""
    principal.require_account(account, required=False)
    from titans_finance.ingest.preview import preview_file

    preview = await _with_upload(
        state,
        file,
        account,
        lambda path, **kw: preview_file(path, engine=engine, **kw),
        file_format=file_format,
        mapping=_mapping_form(mapping),
        allowed_accounts=principal.accounts,
    )
    return {"success": True, **preview.to_dict()}


_PUBLIC_COLUMNS = {
    "id": "id",
    d.DATE: "date",
    d.TYPE: "type",
    d.DESCRIPTION: "description",
    d.AMOUNT: "amount",
    d.CATEGORY: "category",
    d.PAYMENT_METHOD: "payment_method",
    d.STATUS: "status",
    d.ACCOUNT: "account",
    d.CURRENCY: "currency",
    d.BALANCE: "balance",
    d.MERCHANT: "merchant",
    d.MCC: "mcc",
}


def public_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Stored transactions as JSON-ready dicts with the API's field names."""
    table = frame[[c for c in _PUBLIC_COLUMNS if c in frame]].rename(columns=_PUBLIC_COLUMNS)
    if "date" in table:
        table["date"] = pd.to_datetime(table["date"]).dt.date
    return frame_records(table)


def _public_one(record: dict[str, Any]) -> dict[str, Any]:
    return public_records(pd.DataFrame([record]))[0]


@router.get("", response_model=s.TransactionPage, summary="List transactions")
def list_transactions(
    engine: EngineDep,
    principal: ReadDep,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    account: Annotated[list[str] | None, Query(max_length=50)] = None,
    category: Annotated[list[str] | None, Query(max_length=50)] = None,
    type: Annotated[list[d.TransactionType] | None, Query(max_length=3)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in description")] = None,
    min_amount: Annotated[float | None, Query(ge=-1e12, le=1e12)] = None,
    max_amount: Annotated[float | None, Query(ge=-1e12, le=1e12)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    sort: SortField = "date",
    order: Literal["asc", "desc"] = "desc",
) -> Any:
    """Filtered, sorted, paginated transactions and the total matching the filters."""
    flt = repository.TransactionFilter(
        date_from=date_from,
        date_to=date_to,
        accounts=principal.accounts_filter(account),
        categories=category or [],
        types=[t.value for t in type] if type else [],
        text=q or None,
        min_amount=min_amount,
        max_amount=max_amount,
        limit=limit,
        offset=offset,
        sort=sort,
        descending=order == "desc",
    )
    frame = repository.load_transactions(engine, flt)
    total = repository.count_transactions(engine, flt)
    return {
        "success": True,
        "items": public_records(frame),
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@router.get("/{transaction_id}", response_model=s.TransactionPublic, summary="One transaction")
def get_transaction(transaction_id: TransactionId, engine: EngineDep, principal: ReadDep) -> Any:
    """A stored transaction by id (404 when absent)."""
    return _public_one(_own_transaction(engine, principal, transaction_id))


def _own_transaction(engine: Any, principal: Principal, transaction_id: int) -> dict[str, Any]:
    """The transaction, when the caller may see it; else the same 404 as for a missing one."""
    record = repository.get_transaction(engine, transaction_id)
    if not principal.allows_account(record.get(d.ACCOUNT)):
        raise NotFoundError(f"transaction {transaction_id} does not exist")
    return record


@router.patch(
    "/{transaction_id}",
    response_model=s.TransactionPublic,
    summary="Correct a transaction's category",
)
def update_category(
    transaction_id: TransactionId, body: s.CategoryUpdate, engine: EngineDep, principal: WriteDep
) -> Any:
    """Set the category; the correction is stored as feedback for the next training."""
    before = _own_transaction(engine, principal, transaction_id)
    after = repository.set_category(engine, transaction_id, body.category)
    store.record_audit(
        engine,
        actor=principal.actor,
        action="transaction.category",
        target=str(transaction_id),
        detail={"from": before.get(d.CATEGORY), "to": after.get(d.CATEGORY)},
    )
    return _public_one(after)


@router.post(
    "/{transaction_id}/normal",
    response_model=s.FeedbackResponse,
    status_code=status.HTTP_201_CREATED,
    summary="Mark a transaction as normal",
)
def mark_normal(
    transaction_id: TransactionId,
    engine: EngineDep,
    state: StateDep,
    principal: WriteDep,
    body: s.NormalMark | None = None,
) -> Any:
    """Store "this is normal" feedback: the anomaly model stops flagging this pattern."""
    reason_code = body.reason_code if body is not None else None
    if reason_code is not None:
        from titans_finance.models.anomaly import REASON_CODES

        if reason_code not in REASON_CODES:
            raise ValidationError(
                f"reason_code: {reason_code!r} is not one of {', '.join(REASON_CODES)}"
            )
    _own_transaction(engine, principal, transaction_id)
    feedback_id = repository.add_anomaly_feedback(
        engine,
        transaction_id=transaction_id,
        reason_code=reason_code,
    )
    store.record_audit(
        engine,
        actor=principal.actor,
        action="transaction.normal",
        target=str(transaction_id),
        detail={"feedback_id": feedback_id, "reason_code": reason_code},
    )
    state.sync_store(force=True)
    return {"success": True, "id": feedback_id, "transaction_id": transaction_id}


__all__ = ["import_router", "public_records", "router"]
