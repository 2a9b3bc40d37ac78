"""Every subcommand, in the order `shoal --help` lists them."""

from __future__ import annotations

from .check import check_command
from .demo import demo_command
from .init import init_command
from .plan import plan_command
from .prompt import prompt_command
from .land import cleanup_command, merge_command
from .run import resume_command, run_command
from .schema import schema_command
from .status import status_command

ALL = (
    demo_command, init_command, check_command, plan_command, prompt_command, schema_command,
    run_command, resume_command, status_command, merge_command, cleanup_command,
)
