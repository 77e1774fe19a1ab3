"""Streamlit dashboard: five analysis pages plus import and model status, over one client."""

from __future__ import annotations

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")

__all__ = ["APP_PATH"]
