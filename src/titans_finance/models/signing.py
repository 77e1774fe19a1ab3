"""HMAC signatures on model metadata, so a model folder cannot be forged by whoever can write it.

A saved model's ``metadata.json`` lists the sha256 of every artefact.  With
``TITANS_MODEL_SIGNING_KEY`` set, the metadata (artefact checksums included) is signed with
HMAC-SHA256 under that key, held outside the models folder.  Loading checks the signature
before the checksums and before anything is unpickled: rewriting both the artefact and its
checksum no longer yields a model that loads.

Without a key: development saves unsigned models and loads them with a warning; production
refuses to save (ConfigurationError, exit 78) and refuses to load any model.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from titans_finance.errors import ConfigurationError, ModelIntegrityError

if TYPE_CHECKING:
    from titans_finance.config import Settings

logger = logging.getLogger(__name__)

SIGNATURE_FIELD = "signature"
_SCHEME = "hmac-sha256:"


@dataclass(frozen=True)
class SigningPolicy:
    """The signing key (if any) and whether unsigned models are acceptable."""

    key: bytes | None
    production: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> SigningPolicy:
        """The policy of ``settings`` (``TITANS_MODEL_SIGNING_KEY``, ``TITANS_ENVIRONMENT``)."""
        secret = settings.model_signing_key
        key = secret.get_secret_value().encode("utf-8") if secret is not None else None
        return cls(key=key, production=settings.is_production)

    @classmethod
    def current(cls) -> SigningPolicy:
        """The policy of the process-wide settings."""
        from titans_finance.config import get_settings

        return cls.from_settings(get_settings())

    def check_can_sign(self) -> None:
        """Raise ConfigurationError (exit 78) when production has no key to sign with."""
        if self.key is None and self.production:
            raise ConfigurationError(
                "TITANS_MODEL_SIGNING_KEY is not set: production only writes signed models; "
                "set it (32+ random characters, kept outside the models folder)"
            )

    def sign(self, metadata: dict[str, Any]) -> str | None:
        """The signature to store in ``metadata`` (None: unsigned, development only)."""
        self.check_can_sign()
        if self.key is None:
            return None
        return _SCHEME + _digest(self.key, metadata)

    def verify(self, metadata: dict[str, Any], model_type: str) -> None:
        """Raise ModelIntegrityError unless ``metadata`` carries a valid signature (or may not)."""
        signature = metadata.get(SIGNATURE_FIELD)
        if self.key is None:
            if self.production:
                raise ModelIntegrityError(
                    f"the {model_type} model cannot be verified: TITANS_MODEL_SIGNING_KEY is "
                    "not set, and production loads only signed models"
                )
            logger.warning(
                "%s model loaded without a signature check (TITANS_MODEL_SIGNING_KEY unset; "
                "development only)",
                model_type,
            )
            return
        if not isinstance(signature, str) or not signature.startswith(_SCHEME):
            raise ModelIntegrityError(
                f"the {model_type} model is not signed; retrain it with "
                f"`titans train {model_type}` under TITANS_MODEL_SIGNING_KEY"
            )
        expected = _digest(self.key, metadata)
        if not hmac.compare_digest(signature[len(_SCHEME) :], expected):
            raise ModelIntegrityError(
                f"the {model_type} model's signature does not match: it was modified, or signed "
                f"with another key; retrain with `titans train {model_type}`"
            )


def _digest(key: bytes, metadata: dict[str, Any]) -> str:
    """HMAC-SHA256 over the canonical JSON of ``metadata`` without its signature."""
    body = {k: v for k, v in metadata.items() if k != SIGNATURE_FIELD}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()


__all__ = ["SIGNATURE_FIELD", "SigningPolicy"]
