"""``kinko serve`` (the web screens and the API) and ``kinko notify`` (the notice worker):
the commands that run until they are stopped."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from kinko.cli.common import add, open_kinko, positive
from kinko.config import Settings

if TYPE_CHECKING:
    from kinko.cli.common import Commands
    from kinko.notify import MailSender


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from kinko.logs import configure
    from kinko.web.app import create_app

    kinko = open_kinko(settings)
    host = args.host or settings.host
    port = args.port or settings.port
    configure(settings.log_level, settings.log_format)
    print(f"kinko serving on http://{host}:{port}  (staff console: /console)", flush=True)
    # uvicorn's own lines go through kinko's handler (log_config=None); its access log is
    # off: it prints the raw path and query string, kinko.access logs the route template.
    uvicorn.run(create_app(kinko, notices=_sender(args.notify, settings)), host=host,
                port=port, log_level=settings.log_level.lower(), log_config=None,
                access_log=False, server_header=False)
    return 0


def _sender(kind: str, settings: Settings) -> MailSender | None:
    from kinko.notify import PrintSender, SmtpSender

    if kind == "print":
        return PrintSender()
    if kind == "smtp":
        return SmtpSender.from_settings(settings)
    return None


def cmd_notify(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import threading

    from kinko import notify
    from kinko.notify import PrintSender, SmtpSender

    kinko = open_kinko(settings)
    sender: MailSender = PrintSender() if args.print else SmtpSender.from_settings(settings)
    if args.once:
        report = notify.run_once(kinko, sender)
        print(f"notices: {report.sent} sent, {report.retried} to retry, {report.failed} failed")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        notify.run_forever(kinko, sender, interval=args.interval, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def register_serve(commands: Commands) -> None:
    serve = add(commands, "serve", cmd_serve, "serve the web screens and the API")
    serve.add_argument("--host", help="address to bind (default KINKO_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=positive, help="port (default KINKO_PORT, 8000)")
    serve.add_argument("--notify", choices=("off", "print", "smtp"), default="off",
                       help="deliver customer notices from this process: print them, send "
                            "them by SMTP (KINKO_SMTP_*), or leave them to `kinko notify`")


def register_notify(commands: Commands) -> None:
    notify = add(commands, "notify", cmd_notify,
                 "deliver customer notices from the outbox (until stopped)")
    notify.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    notify.add_argument("--print", action="store_true", help="print mails instead of SMTP")
    notify.add_argument("--interval", type=positive, default=5, help="seconds between passes")
