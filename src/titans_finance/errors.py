"""One exception hierarchy, mapped once to CLI exit codes and HTTP status codes."""

from __future__ import annotations


class TitansError(Exception):
    """Base of every error meant for a user: the message says what, where and what to do."""

    exit_code: int = 1
    http_status: int = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(TitansError):
    """Settings are missing or inconsistent."""

    exit_code = 78
    http_status = 500


class InputFileError(TitansError):
    """A file cannot be read at all (format, encoding, structure); nothing was written."""

    exit_code = 65
    http_status = 422


class ValidationError(TitansError):
    """Input values are wrong (a field, a type, a range)."""

    exit_code = 65
    http_status = 422


class NotFoundError(TitansError):
    """A requested record does not exist."""

    exit_code = 66
    http_status = 404


class AuthenticationError(TitansError):
    """Credentials are missing, wrong, expired or revoked."""

    exit_code = 77
    http_status = 401


class PermissionDeniedError(TitansError):
    """The caller is authenticated but its scope, role or accounts do not allow this."""

    exit_code = 77
    http_status = 403


class ServiceUnavailableError(TitansError):
    """A feature is switched off by configuration (the message names the setting)."""

    exit_code = 69
    http_status = 503


class ModelNotTrainedError(TitansError):
    """A model is needed that has not been trained; the message names the command that trains it."""

    exit_code = 69
    http_status = 503


class ModelIntegrityError(TitansError):
    """A model artefact fails its signature or checksum, or cannot be loaded."""

    exit_code = 70
    http_status = 503


class TrainingDataError(TitansError):
    """Training data is unusable (too few rows, one class, missing column)."""

    exit_code = 65
    http_status = 422


class StorageError(TitansError):
    """The database cannot be reached or refused an operation."""

    exit_code = 74
    http_status = 503


class PipelineBusyError(TitansError):
    """Another pipeline run holds the store lock; try again when it has finished."""

    exit_code = 75
    http_status = 409


class InboxError(TitansError):
    """The pipeline's inbox folder cannot be read or written (files cannot be moved)."""

    exit_code = 73
    http_status = 500


class PipelineRunError(TitansError):
    """A pipeline run failed; the run is recorded as failed with this reason."""

    exit_code = 70
    http_status = 500


__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "InboxError",
    "InputFileError",
    "ModelIntegrityError",
    "ModelNotTrainedError",
    "NotFoundError",
    "PermissionDeniedError",
    "PipelineBusyError",
    "PipelineRunError",
    "ServiceUnavailableError",
    "StorageError",
    "TitansError",
    "TrainingDataError",
    "ValidationError",
]
