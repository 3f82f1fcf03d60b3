#!/usr/bin/env bash
# CI for system accounts (ftp/sysauth): builds and tests with -tags pam
# against the real PAM stack, with a throw-away account that has a known
# password, and removes the account afterwards whatever happens.
#
# Needs root (or sudo): it installs libpam0g-dev, creates accounts, and the
# tests read /etc/shadow through PAM and chown uploaded files.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "ci-pam: needs root or sudo (installs packages, creates accounts)" >&2
    exit 1
  fi
fi

echo "== PAM headers"
if [ ! -f /usr/include/security/pam_appl.h ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends libpam0g-dev >/dev/null
fi
command -v gcc >/dev/null 2>&1 || command -v cc >/dev/null 2>&1 || {
  echo "ci-pam: cgo needs a C compiler (apt-get install gcc)" >&2; exit 1; }
export CGO_ENABLED=1

# Throw-away accounts: one to log in with, one whose account has expired
# (PAM account management must refuse it). Names fit useradd's 32 chars.
suffix="$$"
user="ftpshare-pam-$suffix"
expired="ftpshare-pamx-$suffix"
cleanup() {
  for u in "$user" "$expired"; do
    if id "$u" >/dev/null 2>&1; then $SUDO userdel -r "$u" >/dev/null 2>&1 || true; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

password="$(head -c 18 /dev/urandom | base64 | tr -d '/+=')"
$SUDO useradd -m -s /bin/bash "$user"
$SUDO useradd -m -s /bin/bash -e 1970-01-02 "$expired"
printf '%s:%s\n%s:%s\n' "$user" "$password" "$expired" "$password" | $SUDO chpasswd

export FTPSHARE_PAM_TEST_USER="$user"
export FTPSHARE_PAM_TEST_PASS="$password"
export FTPSHARE_PAM_TEST_EXPIRED_USER="$expired"
export FTPSHARE_REQUIRE_CLIENTS=1

echo "== go vet -tags pam"
go vet -tags pam ./...

echo "== go build -tags pam"
go build -tags pam ./...

echo "== go test -race -tags pam ./ftp/sysauth/..."
# The test needs root for PAM's shadow access and for chown: keep the
# environment (the Go toolchain and the variables above) under sudo.
if [ -n "$SUDO" ]; then
  $SUDO --preserve-env env "PATH=$PATH" go test -race -count=1 -timeout 5m -tags pam ./ftp/sysauth/...
else
  go test -race -count=1 -timeout 5m -tags pam ./ftp/sysauth/...
fi

echo "PAM CI OK"
