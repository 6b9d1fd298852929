#!/usr/bin/env bash
# The attack suites (tests/test_sandbox_attacks.py, tests/test_verdict_attacks.py) as an
# unprivileged user: the grader, its workers, its sandboxes and its judges then run as
# `nobody`, as they do for an instructor on a laptop.
#
#   tests/run_unprivileged.sh [pytest arguments]
#
# Run as root (CI): a private mount namespace lets `nobody` reach a Python that lives in
# root's home (pyenv) without changing any permission on the machine; the rest of the
# machine is as it is. Run as any other user: the suite runs as that user.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES="tests/test_sandbox_attacks.py tests/test_verdict_attacks.py"
PYTEST=(.venv/bin/python -m pytest -p no:cacheprovider -q $SUITES)
if [ "$(id -u)" != 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi
PYHOME="$(.venv/bin/python -c 'import sys; print(sys.base_prefix)')"
export NN_PYHOME="$PYHOME" NN_ARGS="$*" NN_SUITES="$SUITES"
exec unshare --mount --propagation private bash -euo pipefail -c '
  if [[ "$NN_PYHOME" == /root/* ]]; then
    keep=$(mktemp -d)
    mount --bind "$NN_PYHOME" "$keep"
    mount -t tmpfs -o mode=0755 tmpfs /root
    mkdir -p "$NN_PYHOME"
    mount --move "$keep" "$NN_PYHOME"
  fi
  home=$(mktemp -d)
  chown 65534:65534 "$home"
  exec setpriv --reuid=65534 --regid=65534 --clear-groups \
    env -i PATH="$PWD/.venv/bin:/usr/bin:/bin" HOME="$home" LANG=C.UTF-8 \
    PYTHONDONTWRITEBYTECODE=1 \
    .venv/bin/python -m pytest -p no:cacheprovider -q $NN_SUITES $NN_ARGS
'
