"""``flask network ...``: the Centres of Excellence network from the command line."""

from __future__ import annotations

from flask.cli import AppGroup

network_cli = AppGroup("network", help="Plan the network of ATMP Centres of Excellence.")
