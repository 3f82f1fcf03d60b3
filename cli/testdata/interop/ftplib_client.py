#!/usr/bin/env python3
"""A scripted ftplib client for ftpshare's interop tests (cli/interop_*_test.go).

    ftplib_client.py [--user U --password P] [--active] [--tls --cafile F]
                     --port N COMMAND ARGS...

COMMAND is one of:
    login                      log in and print the working directory
    list DIR                   NLST DIR, one base name a line
    get REMOTE LOCAL           RETR in binary mode
    put LOCAL REMOTE           STOR in binary mode
    reget REMOTE LOCAL         resume a download: REST <size of LOCAL>, RETR
    reput LOCAL REMOTE         resume an upload: SIZE REMOTE, REST, STOR
    mkdir DIR | delete FILE | rename FROM TO
    mirror-down REMOTE LOCAL   download a tree (MLSD to walk it)
    mirror-up LOCAL REMOTE     upload a tree (MKD, STOR)

Without --user it logs in as anonymous (ftplib's default). With --tls it
uses FTP_TLS (AUTH TLS) and protects the data connections (PROT P),
checking the server's certificate against --cafile. --active sends PORT
or EPRT instead of PASV/EPSV. Any ftplib error ends the script with
status 1 and the reply on stderr.
"""

import argparse
import ftplib
import os
import ssl
import sys

TIMEOUT = 30


def connect(a):
    if a.tls:
        ctx = ssl.create_default_context(cafile=a.cafile)
        ftp = ftplib.FTP_TLS(context=ctx, timeout=TIMEOUT)
    else:
        ftp = ftplib.FTP(timeout=TIMEOUT)
    ftp.connect("127.0.0.1", a.port)
    if a.user:
        ftp.login(a.user, a.password)
    else:
        ftp.login()  # anonymous
    if a.tls:
        ftp.prot_p()
    ftp.set_pasv(not a.active)
    return ftp


def get(ftp, remote, local, rest=None):
    mode = "ab" if rest else "wb"
    with open(local, mode) as f:
        ftp.retrbinary("RETR " + remote, f.write, rest=rest)


def put(ftp, local, remote, rest=None):
    with open(local, "rb") as f:
        if rest:
            f.seek(rest)
        ftp.storbinary("STOR " + remote, f, rest=rest)


def mirror_down(ftp, remote, local):
    os.makedirs(local, exist_ok=True)
    for name, facts in ftp.mlsd(remote, facts=["type"]):
        if facts["type"] == "dir":
            mirror_down(ftp, remote + "/" + name, os.path.join(local, name))
        elif facts["type"] == "file":
            get(ftp, remote + "/" + name, os.path.join(local, name))


def mirror_up(ftp, local, remote):
    try:
        ftp.mkd(remote)
    except ftplib.error_perm as e:
        if not str(e).startswith("550"):  # 550: it exists already
            raise
    for entry in sorted(os.scandir(local), key=lambda e: e.name):
        if entry.is_dir():
            mirror_up(ftp, entry.path, remote + "/" + entry.name)
        else:
            put(ftp, entry.path, remote + "/" + entry.name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--active", action="store_true")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--cafile")
    p.add_argument("command")
    p.add_argument("args", nargs="*")
    a = p.parse_args()

    ftp = connect(a)
    c, args = a.command, a.args
    if c == "login":
        print(ftp.pwd())
    elif c == "list":
        for name in ftp.nlst(args[0]):
            print(name.rsplit("/", 1)[-1])
    elif c == "get":
        get(ftp, args[0], args[1])
    elif c == "put":
        put(ftp, args[0], args[1])
    elif c == "reget":
        get(ftp, args[0], args[1], rest=os.path.getsize(args[1]))
    elif c == "reput":
        ftp.voidcmd("TYPE I")
        put(ftp, args[0], args[1], rest=ftp.size(args[1]))
    elif c == "mkdir":
        ftp.mkd(args[0])
    elif c == "delete":
        ftp.delete(args[0])
    elif c == "rename":
        ftp.rename(args[0], args[1])
    elif c == "mirror-down":
        mirror_down(ftp, args[0], args[1])
    elif c == "mirror-up":
        mirror_up(ftp, args[0], args[1])
    else:
        sys.exit("unknown command " + c)
    ftp.quit()


if __name__ == "__main__":
    try:
        main()
    except ftplib.all_errors as e:
        print("ftplib: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
