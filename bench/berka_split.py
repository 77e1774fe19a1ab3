"""The one Berka development / held-out split every bench uses.

Accounts whose numeric id modulo 10 is in ``HELD_OUT_BERKA`` are kept aside for evaluation: no
setting is ever chosen on them.  Every other account is development data.
"""

from __future__ import annotations

import pandas as pd

HELD_OUT_BERKA = (5, 6)  # account_id % 10: kept aside for evaluation, never tuned on


def account_ids(frame: pd.DataFrame, column: str = "Account") -> pd.Series:
    """Berka's numeric account id of each row (the trailing digits of ``column``)."""
    return frame[column].astype(str).str.extract(r"(\d+)$")[0].astype(int)


def held_out_accounts(frame: pd.DataFrame, column: str = "Account") -> pd.Series:
    """True for the rows of held-out Berka accounts (id % 10 in ``HELD_OUT_BERKA``)."""
    return account_ids(frame, column).mod(10).isin(HELD_OUT_BERKA)
