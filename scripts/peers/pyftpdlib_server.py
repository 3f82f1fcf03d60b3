"""pyftpdlib for scripts/bench-peers.sh.

Usage: pyftpdlib_server.py PORT DIR PASV_MIN PASV_MAX [CERTFILE]

Debian 12's pyftpdlib (1.5.7) predates the --max-cons command-line flags,
so the limits are set through the API: max_cons=0 and max_cons_per_ip=0
mean no limit. With CERTFILE (certificate and key in one PEM) it serves
explicit FTPS through TLS_FTPHandler.
"""

import logging
import sys

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    pasv_min, pasv_max = int(sys.argv[3]), int(sys.argv[4])
    certfile = sys.argv[5] if len(sys.argv) > 5 else None

    # Per-session INFO lines would make this the only peer that logs.
    logging.basicConfig(level=logging.WARNING)

    authorizer = DummyAuthorizer()
    authorizer.add_user("bench", "bench", root, perm="elradfmwMT")
    handler = FTPHandler
    if certfile:
        handler = TLS_FTPHandler
        handler.certfile = certfile
    handler.authorizer = authorizer
    handler.passive_ports = range(pasv_min, pasv_max + 1)
    handler.timeout = 3600

    server = FTPServer(("127.0.0.1", port), handler)
    server.max_cons = 0
    server.max_cons_per_ip = 0
    server.serve_forever(handle_exit=True)


if __name__ == "__main__":
    main()
