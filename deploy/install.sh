#!/usr/bin/env bash
# Installs govgate where deploy/govgate-agent.service runs it: a virtual environment at
# PREFIX/venv (default /opt/govgate/venv) holding the versions of requirements/runtime.txt
# (each file hash-checked) and govgate itself, from a wheel or from this repository; then the
# unit file.
# Run it again with a newer wheel or checkout to upgrade (deploy/README.md, "Install and upgrade").
#
#   deploy/install.sh [--from WHEEL|DIR] [--prefix DIR] [--lock FILE] [--python PYTHON]
#                     [--unit-dir DIR] [--no-systemd]
#
#   --from       a govgate wheel (dist/govgate-*.whl) or a source tree; default: this repository
#   --prefix     default /opt/govgate (or $GOVGATE_PREFIX); the venv is PREFIX/venv
#   --lock       default requirements/runtime.txt of this repository
#   --python     the interpreter the venv is made from (3.11 or newer); default python3
#   --unit-dir   where the unit file goes; default /etc/systemd/system
#   --no-systemd install no unit file and call no systemctl (a container, a test, a trial run)
#
# It never starts, stops or enables the service, and never touches a database.
set -euo pipefail
umask 022 # the venv is read by the unprivileged service user

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
from=$repo
prefix=${GOVGATE_PREFIX:-/opt/govgate}
lock=$repo/requirements/runtime.txt
python=python3
unit_dir=/etc/systemd/system
systemd=yes

die() { echo "install.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case $1 in
        --from) from=${2:?--from needs a wheel or a directory}; shift 2 ;;
        --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
        --lock) lock=${2:?--lock needs a file}; shift 2 ;;
        --python) python=${2:?--python needs an interpreter}; shift 2 ;;
        --unit-dir) unit_dir=${2:?--unit-dir needs a directory}; shift 2 ;;
        --no-systemd) systemd=no; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (--help lists them)" ;;
    esac
done

[ -e "$from" ] || die "--from $from: no such wheel or directory"
[ -f "$lock" ] || die "--lock $lock: no such file"
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac # the unit and the venv's scripts need it absolute
case $prefix in *'|'* | *' '*) die "--prefix must not contain '|' or spaces" ;; esac
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
    die "$python is not Python 3.11 or newer (--python names another)"

venv=$prefix/venv
pip=("$venv/bin/python" -m pip --quiet --disable-pip-version-check)

echo "==> $venv"
mkdir -p "$prefix"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
# Exactly the locked runtime dependencies: a file whose hash is not in the lock is refused.
"${pip[@]}" install --require-hashes -r "$lock"
# govgate itself, replacing whatever version the venv had; its dependencies came from the lock.
"${pip[@]}" install --no-deps --force-reinstall "$from"
"${pip[@]}" check # the lock provides everything this govgate asks for
version=$("$venv/bin/govgate" --version)
echo "==> $version"

if [ "$systemd" = yes ]; then
    # The unit and the README it names (Documentation=), with this prefix in their paths.
    mkdir -p "$prefix/deploy" "$unit_dir"
    install -m 0644 "$repo/deploy/README.md" "$prefix/deploy/README.md"
    sed "s|/opt/govgate/|$prefix/|g" "$repo/deploy/govgate-agent.service" >"$prefix/deploy/govgate-agent.service"
    install -m 0644 "$prefix/deploy/govgate-agent.service" "$unit_dir/govgate-agent.service"
    echo "==> $unit_dir/govgate-agent.service"
    if [ "$unit_dir" = /etc/systemd/system ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
        systemctl daemon-reload
    fi
fi

cat <<EOF
Installed $version into $venv.
First install: deploy/README.md, "Setup" (the database roles, the service user, /etc/govgate), then
    systemctl enable --now govgate-agent
Upgrade: with the agent stopped, as the tables' owner:
    $venv/bin/govgate --db OWNER_URL upgrade
then  systemctl start govgate-agent
EOF
