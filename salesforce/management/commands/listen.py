"""manage.py listen: turn Salesforce changes into workloads until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand, CommandError

from salesforce.runner import Listener, ListenOptions


class Command(BaseCommand):
    help = (
        "Listen to Change Data Capture for Lead, Task and EmailMessage (or poll with --polling) "
        "and enqueue the workloads. One listener per org is active; others wait as hot standby."
    )
    requires_system_checks = []  # a long-running worker: start (and take over) fast

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--polling", action="store_true", help="Poll SystemModstamp instead of CDC."
        )
        parser.add_argument("--poll-interval", type=float, default=5.0, help="Seconds per poll.")
        parser.add_argument(
            "--replay",
            type=int,
            default=-1,
            choices=(-1, -2),
            help="Where to start without a stored replay id: -1 new events, -2 all retained.",
        )
        parser.add_argument("--batch-size", type=int, default=500)
        parser.add_argument(
            "--batch-wait",
            type=float,
            default=0.05,
            help="Seconds to gather a batch below ~20 events/s.",
        )
        parser.add_argument(
            "--max-batch-wait",
            type=float,
            default=0.6,
            help="Seconds to gather a batch from ~100 events/s (the wait grows with the rate).",
        )
        parser.add_argument(
            "--fallback-after",
            type=int,
            default=3,
            help="Poll instead when this many stream sessions in a row fail before subscribing "
            "(a denied handshake, streaming off); 0: keep retrying the stream only.",
        )
        parser.add_argument(
            "--stream-retry-minutes",
            type=float,
            default=10.0,
            help="Minutes of polling before the stream is tried again.",
        )

    def handle(self, *args, **options) -> None:
        if options["batch_size"] < 1 or options["batch_wait"] < 0:
            raise CommandError("--batch-size must be at least 1 and --batch-wait not negative.")
        if options["max_batch_wait"] < options["batch_wait"]:
            raise CommandError("--max-batch-wait must be at least --batch-wait.")
        if options["fallback_after"] < 0 or options["stream_retry_minutes"] <= 0:
            raise CommandError(
                "--fallback-after must not be negative and --stream-retry-minutes must be positive."
            )
        listen_options = ListenOptions(
            polling=options["polling"],
            poll_interval=options["poll_interval"],
            default_replay=options["replay"],
            batch_size=options["batch_size"],
            batch_wait=options["batch_wait"],
            max_batch_wait=options["max_batch_wait"],
            fallback_after=options["fallback_after"],
            stream_retry_minutes=options["stream_retry_minutes"],
        )
        listener = Listener(listen_options, out=lambda text: self.stdout.write(text))
        asyncio.run(listener.run())
