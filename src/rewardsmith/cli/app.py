"""The ``rewardsmith`` command: one module per subcommand, wired here."""

from __future__ import annotations

import typer

from rewardsmith.cli.audit import audit_cmd
from rewardsmith.cli.catalog import list_cmd
from rewardsmith.cli.eval_rm import eval_rm_cmd
from rewardsmith.cli.probe_rm import probe_rm_cmd
from rewardsmith.cli.score import score_cmd
from rewardsmith.cli.serve import serve_cmd
from rewardsmith.cli.train_rm import train_rm_cmd

__all__ = ["app", "main"]

app = typer.Typer(
    name="rewardsmith",
    help="Rewards for RL post-training of language models: score rollouts, list the catalog, serve, train a reward model, audit a spec for reward hacking.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("score")(score_cmd)
app.command("list")(list_cmd)
app.command("serve")(serve_cmd)
app.command("train-rm")(train_rm_cmd)
app.command("audit")(audit_cmd)
app.command("eval-rm")(eval_rm_cmd)
app.command("probe-rm")(probe_rm_cmd)


def main() -> None:
    app()
