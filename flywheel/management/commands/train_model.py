"""manage.py train_model: train a local model from labelled decisions and compare it."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flywheel.learning.choices import ModelMode
from flywheel.learning.specs import SPECS
from flywheel.learning.training import STAGES, TrainingRefused, min_labels_default, model_train
from flywheel_site.command_helpers import progress_bar

MODES = (ModelMode.OFF, ModelMode.SHADOW, ModelMode.AB)


class Command(BaseCommand):
    help = (
        "Train a local model for a workload from its labelled decisions (a correction wins over "
        "the decision's output), evaluate it on held-out labels beside the deciders that answered "
        "those cases, and save it as a new model version (off unless --mode says otherwise)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workload", required=True, choices=sorted(SPECS))
        parser.add_argument(
            "--min-labels",
            type=int,
            default=None,
            help=f"Refuse below this many labelled decisions (default {min_labels_default()}).",
        )
        parser.add_argument(
            "--weak-labels",
            action="store_true",
            help="Also train on unlabelled LLM answers (half weight; never held out).",
        )
        parser.add_argument(
            "--mode",
            choices=[str(mode) for mode in MODES],
            default=str(ModelMode.OFF),
            help="Serve the new version right away as a shadow or A/B challenger (never champion).",
        )
        parser.add_argument(
            "--ab-share", type=float, default=0.1, help="Share of subjects in A/B mode (0 to 1)."
        )

    def handle(self, *args: object, **options: object) -> None:
        share = float(options["ab_share"])
        if not 0 <= share <= 1:
            raise CommandError("--ab-share must be between 0 and 1, e.g. 0.1.")
        min_labels = options["min_labels"]
        if min_labels is not None and int(min_labels) < 1:
            raise CommandError("--min-labels must be 1 or more.")
        bar = progress_bar(self.stderr, total=len(STAGES), unit="step")
        try:
            report = model_train(
                workload=str(options["workload"]),
                min_labels=min_labels,
                weak_labels=bool(options["weak_labels"]),
                mode=str(options["mode"]),
                ab_share=share,
                on_stage=lambda stage: (bar.set_description(stage), bar.update(1)),
            )
        except TrainingRefused as error:
            raise CommandError(str(error)) from error
        finally:
            bar.close()
        self._print(report)

    def _print(self, report) -> None:
        version, metrics, counts = report.version, report.metrics, report.counts
        self.stdout.write(
            f"Saved {version.name} ({version.algorithm}), mode {version.mode}, "
            f"artifact {version.artifact_path} (sha256 {version.sha256[:12]}…)."
        )
        self.stdout.write(
            f"Training set: {counts['train']} example(s) ({counts['weak']} weak), "
            f"{counts['held_out']} held out of {counts['labelled']} labelled."
        )
        calibration = metrics["calibration"]
        self.stdout.write(
            f"Held-out accuracy {_pct(metrics['accuracy'])}; "
            f"expected calibration error {calibration['ece']}."
        )
        for target, figures in metrics["targets"].items():
            self.stdout.write(f"  {target}: accuracy {_pct(figures['accuracy'])}")
            for label, m in figures["per_class"].items():
                self.stdout.write(
                    f"    {label:<14} precision {m['precision']:.2f}  recall {m['recall']:.2f}"
                    f"  n={m['support']}"
                )
        self.stdout.write("Comparison on the same held-out cases:")
        self.stdout.write(
            f"  {'decider':<40} {'cases':>5} {'accuracy':>9} {'latency ms':>11} {'USD/1k':>8}"
        )
        for row in report.comparison:
            name = version.name if row["decider"] == "this version" else row["decider"]
            if "note" in row:
                self.stdout.write(f"  {name[:40]:<40} {row['note']}")
                continue
            self.stdout.write(
                f"  {name[:40]:<40} {row['n']:>5} {_pct(row['accuracy']):>9} "
                f"{row['latency_ms']:>11.2f} {row['cost_per_1k_usd']:>8.4f}"
            )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"
