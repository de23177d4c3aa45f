#!/usr/bin/env bash
# Run the integration suite with the Python that has the openai SDK.
# Extra arguments go to pytest, e.g.:  Tests/integration/run.sh -m "not mint" -x
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python=${SATMETER_SDK_PYTHON:-/tmp/venv-sdk/bin/python}
if ! "$python" -c 'import pytest, openai' 2>/dev/null; then
    echo "$python needs pytest and openai: $python -m pip install pytest openai" >&2
    exit 2
fi
# Without a test path among the arguments, run the whole suite.
for arg in "$@"; do
    [[ -e ${arg%%::*} ]] && exec "$python" -m pytest "$@"
done
exec "$python" -m pytest "$here" "$@"
