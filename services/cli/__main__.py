"""`python -m services.cli`, the same as the `sinergi` console script."""

from services.cli.main import app

app(prog_name="sinergi")
