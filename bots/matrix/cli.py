"""``parley matrix registration``: the appservice registration file for the homeserver."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from bots.matrix.registration import write_registration
from bots.matrix.settings import MatrixSettings, registration_of
from bridge.cli import EXIT_OK, CliError
from bridge.config import load_config

__all__ = ["add_arguments"]


def add_arguments(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    matrix = commands.add_parser("matrix", help="Matrix appservice tools")
    actions = matrix.add_subparsers(dest="matrix_command", required=True, metavar="ACTION")
    registration = actions.add_parser(
        "registration",
        help="write the appservice registration YAML the homeserver loads "
        "(Synapse: app_service_config_files)",
    )
    registration.add_argument(
        "--config",
        type=Path,
        default=Path(os.environ.get("PARLEY_CONFIG", "config.toml")),
        help="the config file (default: $PARLEY_CONFIG or ./config.toml)",
    )
    registration.add_argument(
        "--output",
        type=Path,
        default=None,
        help="where to write it (default: <data_dir>/matrix-registration.yaml)",
    )
    registration.add_argument("--force", action="store_true", help="overwrite an existing file")
    registration.set_defaults(func=_cmd_registration)


def _cmd_registration(args: argparse.Namespace) -> int:
    settings = load_config(args.config, platforms=args.platforms)
    matrix = settings.section(MatrixSettings)
    if not matrix.enabled:
        raise CliError("matrix.homeserver_url is not set: Matrix is off in this config")
    try:
        registration = registration_of(matrix)
    except (ValueError, OSError) as exc:
        raise CliError(str(exc)) from None
    output: Path = args.output or settings.bridge.data_dir / "matrix-registration.yaml"
    try:
        write_registration(output, registration, overwrite=args.force)
    except FileExistsError:
        raise CliError(f"{output} exists (use --force to replace it)") from None
    print(f"Wrote {output} (mode 0600: it holds both tokens).")
    print("Give it to the homeserver (Synapse: app_service_config_files) and restart it.")
    return EXIT_OK
