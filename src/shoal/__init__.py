"""shoal: plan, check and run many coding-agent tasks in parallel on one git repository."""

__version__ = "0.1.0"
