"""The `guichet` command (docs/operating.md). Exit 0 on success, non-zero with a message otherwise."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any

from guichet.backoffice import cli as backoffice_cli
from guichet.config.bootstrap import django_setup
from guichet.issuer.acs import cli as acs_cli
from guichet.issuer.cards import cli as cards_cli
from guichet.payonbill.checkout import cli as checkout_cli
from guichet.payonbill.merchants import cli as merchants_cli
from guichet.payonbill.subscribers import cli as subscribers_cli


def _migrate(verbosity: int = 0) -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=verbosity)


def _serve(host: str, port: int, workers: int, threads: int) -> None:
    from django.conf import settings
    from gunicorn.app.base import BaseApplication

    from guichet.server.worker import worker_ready

    inprocess = settings.GUICHET.delivery == "inprocess"

    def post_worker_init(worker: Any) -> None:
        worker_ready(deliver=inprocess)

    class Server(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            # Uvicorn workers: the DS's AReq on the event loop, the rest in `threads` Django threads.
            self.cfg.set("worker_class", "guichet.server.worker.Worker")
            self.cfg.set("post_worker_init", post_worker_init)
            self.cfg.set("keepalive", 5)  # a DS posts AReqs back to back on one connection
            self.cfg.set("graceful_timeout", 20)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25 would open a control socket in $HOME: one path for every server of
                # the host, and an administration interface nobody asked for.
                self.cfg.set("control_socket_disable", True)

        def load(self) -> Any:
            from guichet.server.app import Application

            return Application(threads=threads)

    Server().run()


def cmd_demo(args: argparse.Namespace) -> int:
    # Absolute URLs (acsURL, checkout_url, the demo shop's calls) must name the port actually served.
    os.environ.setdefault("GUICHET_PUBLIC_URL", f"http://{args.host}:{args.port}")
    django_setup("demo")
    from django.conf import settings

    from guichet.demo.data import DEMO_CARDS, demo_admin_password
    from guichet.demo.seed import demo_seed

    _migrate()
    base = f"http://{args.host}:{args.port}"
    extra = demo_seed(base)
    password = demo_admin_password()
    holders = sorted({c.email for c in DEMO_CARDS})
    print(
        f"""
Guichet demo ({settings.GUICHET.branding.issuer_name}), data in {settings.GUICHET.data_dir}

  Enrollment portal  {base}/enrollment/
  Dev inbox          {base}/dev/inbox      (every SMS and email, as the recipient reads it)
  Back-office        {base}/admin/         (user admin, password {password})

  Demo cardholders:  {", ".join(holders)}
"""
        + "".join(f"  {line}\n" for line in extra),
        flush=True,
    )
    _serve(args.host, args.port, workers=1, threads=8)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    django_setup()
    from django.conf import settings

    config = settings.GUICHET
    missing = [
        name
        for name, value in (("GUICHET_EMAIL_URL", config.email_url), ("GUICHET_SMS_URL", config.sms_url))
        if not value
    ]
    if missing:
        print(
            f"guichet: {', '.join(missing)} not set: codes could not reach anyone "
            "(use `guichet demo` to try Guichet without a gateway)",
            file=sys.stderr,
        )
        return 2
    problem = _database_problem()
    if problem:
        print(f"guichet: {problem}", file=sys.stderr)
        return 2
    if not config.acs.ds_urls:  # a pay-on-bill-only deployment needs none: said, not refused
        print(
            "guichet: GUICHET_ACS_DS_URLS not set: every AReq is answered Erro 203 (dsURL); "
            "list your Directory Servers there to run the ACS",
            file=sys.stderr,
            flush=True,
        )
    _serve(args.host, args.port, workers=args.workers, threads=args.threads)
    return 0


def _database_problem() -> str:
    """Why `guichet serve` must not start on this database ("" when it may): every request would fail."""
    from django.conf import settings

    from guichet.core.readiness import database_readiness

    state = database_readiness()
    if not state.reachable:
        return (
            f"the database cannot be reached ({state.problem}): check GUICHET_DATABASE_URL "
            f"({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})"
        )
    if state.pending:
        shown = ", ".join(state.pending[:5]) + (", ..." if len(state.pending) > 5 else "")
        return f"the database lacks {len(state.pending)} migration(s) ({shown}): run `guichet migrate` first"
    return ""


def cmd_worker(args: argparse.Namespace) -> int:
    django_setup()
    problem = _database_problem()
    if problem:  # as for `serve`: each poll would fail
        print(f"guichet: {problem}", file=sys.stderr)
        return 2
    from guichet.delivery.worker import DeliveryThread

    thread = DeliveryThread(interval=args.interval)
    signal.signal(signal.SIGTERM, lambda *_: thread.stop())
    thread.start()
    print("guichet worker: delivering the outbox (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        while thread.is_alive():
            thread.join(timeout=1)
    except KeyboardInterrupt:
        thread.stop()
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    django_setup()
    _migrate(verbosity=1)
    return 0


def cmd_manage(args: argparse.Namespace) -> int:
    django_setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["guichet manage", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guichet", description="Guichet: payment authentication server")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="migrate, demo keys and data, serve with a dev inbox")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.set_defaults(func=cmd_demo)

    serve = sub.add_parser("serve", help="production server (real keys required)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2, help="worker processes, one per core (default 2)")
    serve.add_argument(
        "--threads",
        type=int,
        default=8,
        help="Django threads and database connections per worker (default 8)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser("worker", help="delivery worker for multi-process deployments")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between outbox polls")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    # Each area's sub-commands (its cli.py imports Django only inside the commands).
    cards_cli.register(sub)
    acs_cli.register(sub)
    checkout_cli.register_statement(merchants_cli.register(sub))
    subscribers_cli.register(sub)
    backoffice_cli.register(sub)

    manage = sub.add_parser("manage", help="Django management commands (e.g. createsuperuser)")
    manage.add_argument("rest", nargs=argparse.REMAINDER)
    manage.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from guichet.config.env import ConfigError

    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"guichet: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
