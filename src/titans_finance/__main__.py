"""`python -m titans_finance` runs the `titans` command line."""

from titans_finance.cli.main import app

app()
