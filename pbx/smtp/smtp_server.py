"""A mail server for the tests and the demo: Debian's aiosmtpd on 127.0.0.1, taking mail only
from one user (AUTH PLAIN or LOGIN, over plain SMTP: it is loopback) and keeping every message
it takes in a Maildir, where the harness reads them back (harness/src/smtp.rs).

    python3 smtp_server.py --port PORT --maildir DIR --user USER --password PASSWORD

Prints "ready" once it listens, and runs until stopped.
"""

import argparse
import signal
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--maildir", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    args = p.parse_args()
    # A login over plain SMTP is what the tests want on loopback; aiosmtpd warns of it.
    warnings.filterwarnings("ignore")

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == args.user.encode()
            and auth_data.password == args.password.encode()
        )
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Mailbox(args.maildir),
        hostname="127.0.0.1",
        port=args.port,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,
    )
    controller.start()
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (controller.stop(), sys.exit(0)))
    signal.pause()


if __name__ == "__main__":
    main()
