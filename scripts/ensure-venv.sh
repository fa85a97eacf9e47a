# Sourced by spark-submit.sh and run-tests.sh: create the virtualenv and install the
# project (pinned PySpark + Delta Lake + dev tools) when it is missing or setup.cfg changed.
# Expects HERE (repository root); sets VENV and PY.
VENV="${LAKECART_VENV:-$HERE/.venv}"
PY="$VENV/bin/python"
ensure_venv() {
  local stamp="$VENV/.lakecart-installed"
  # reinstalled when missing, when setup.cfg changed, or when the venv's editable install
  # points at another checkout (the stamp holds the checkout it was installed from)
  if [[ ! -x "$PY" || ! -f "$stamp" || "$HERE/setup.cfg" -nt "$stamp" \
        || "$(cat "$stamp" 2>/dev/null)" != "$HERE" ]]; then
    command -v python3 >/dev/null || { echo "error: python3 not found" >&2; exit 2; }
    echo "setting up $VENV (first run: downloads PySpark and Delta Lake, a few minutes)" >&2
    [[ -x "$PY" ]] || python3 -m venv "$VENV"
    "$PY" -m pip install --quiet --upgrade pip >&2
    "$PY" -m pip install --quiet -e "$HERE[dev]" >&2
    echo "$HERE" > "$stamp"
  fi
}
ensure_venv
