"""User rule regexes, compiled by RE2: matching runs in time linear in the text.

Python's ``re`` backtracks: ``^(a+)+$`` against 27 characters blocked a server for seconds
(issue 15 finding 1).  RE2 never backtracks; the price is that backreferences and lookaround
are not supported, and such patterns are refused when the rule is created.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

from titans_finance.errors import ValidationError

# Longest pattern accepted and RE2's memory budget for one compiled pattern.
MAX_PATTERN_LENGTH = 500
_MAX_MEM = 8 << 20


@lru_cache(maxsize=256)
def compile_rule_regex(pattern: str) -> Any:
    """``pattern`` compiled case-insensitively by RE2; ValidationError when RE2 refuses it."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValidationError(
            f"rule pattern is {len(pattern)} characters; at most {MAX_PATTERN_LENGTH} are allowed"
        )
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = _MAX_MEM
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValidationError(
            f"rule pattern {pattern!r} is not a supported regex ({reason}); rules use RE2 "
            "syntax: no backreferences or lookaround"
        ) from None


__all__ = ["MAX_PATTERN_LENGTH", "compile_rule_regex"]
