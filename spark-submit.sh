#!/usr/bin/env bash
# lakecart job launcher: ./spark-submit.sh JOB [OPTIONS] [-- SPARK_SUBMIT_ARGS...]
#
# Creates .venv and installs the project when missing (or when setup.cfg changed), ships
# the lakecart package to the executors as a zip (rebuilt when the code changes),
# configures Delta Lake, and runs jobs/JOB.py through spark-submit.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
usage() {
  cat <<'EOF'
usage: ./spark-submit.sh JOB [OPTIONS] [-- SPARK_SUBMIT_ARGS...]

Runs jobs/JOB.py through spark-submit with Delta Lake configured and the lakecart package
shipped to the executors.

jobs:
  ingest --source S --path P   land raw data as bronze, clean it into silver, quarantine rejects
  generate --scale N --seed K  write a synthetic shop in the landing format, then ingest it
  features                     build the point-in-time feature tables as of --as-of
  recommend                    train ALS + baselines + hybrid, publish recommendations
  forecast                     train the demand forecast, publish it and the inventory plan
  customers                    publish RFM segments, clusters, churn/CLV/propensity scores
  basket                       FP-growth rules, bought-together lists, open-cart completions
  fraud                        fraud scores for payments, with reasons and a review decision
  sentiment                    review sentiment, aspects, per-item sentiment and alerts
  support                      customer-service intents, entities, queues, suggested answers
  marketing                    uplift targeting per offer, expected profit; promotion effects
  images                       categories and colours from product photos, visually similar items
  report                       analytics marts and a self-contained HTML report
  pipeline [--source S --path P]  everything in order (the synthetic demo without a source)

options (every job):
  --env NAME        conf/base.yaml overlaid with conf/NAME.yaml            (default: local)
  --conf FILE       an extra YAML overlay, applied last before --set
  --set a.b=v       override one config key (repeatable)
  --lakehouse DIR   root of path-based tables                               (default: ./lakehouse)
  --as-of DATE      decision date YYYY-MM-DD
  --master URL      Spark master: local[*], spark://host:port, yarn, k8s://...   (default: local[*])
  --debug           full Python tracebacks on error
  -- ARGS...        everything after -- goes to spark-submit (e.g. -- --executor-memory 4g)

./spark-submit.sh JOB --help lists the job's own options.

environment:
  LAKECART_VENV     virtualenv to use/create (default: ./.venv)
  PYSPARK_PYTHON    Python on the executors (default: the virtualenv's; set it for remote clusters)
EOF
}

die() { echo "spark-submit.sh: error: $*" >&2; exit 2; }

if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then usage; [[ $# -eq 0 ]] && exit 2 || exit 0; fi

JOB="$1"; shift
[[ -f "$HERE/jobs/$JOB.py" ]] || die "unknown job '$JOB' (jobs: $(cd "$HERE/jobs" && ls *.py | sed 's/\.py$//' | tr '\n' ' '))"

# ------------------------------------------------------------------ environment
source "$HERE/scripts/ensure-venv.sh"
command -v java >/dev/null || [[ -n "${JAVA_HOME:-}" ]] || die "Java 17 is required (java not on PATH, JAVA_HOME unset)"

# ------------------------------------------------------------------ the package zip
build_zip() {
  local zip="$HERE/dist/lakecart.zip"
  mkdir -p "$HERE/dist"
  if [[ ! -f "$zip" ]] || [[ -n "$(find "$HERE/lib/lakecart" -name '*.py' -newer "$zip" -print -quit)" ]]; then
    # two launches at once each build their own temporary zip and rename it into place
    # (atomic): a run never reads a zip that another launch is still writing
    local tmp
    tmp="$(mktemp "$HERE/dist/lakecart.zip.XXXXXX")"
    (cd "$HERE/lib" && "$PY" - "$tmp" <<'PYEOF'
import sys, zipfile, pathlib
out = sys.argv[1]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for p in sorted(pathlib.Path("lakecart").rglob("*")):
        if p.is_file() and "__pycache__" not in p.parts:
            z.write(p, p.as_posix())
PYEOF
    ) && mv -f "$tmp" "$zip" || { rm -f "$tmp"; exit 2; }
  fi
  echo "$zip"
}
ZIP="$(build_zip)"

# ------------------------------------------------------------------ arguments
MASTER=""
ENV_NAME="local"
JOB_ARGS=()
SUBMIT_ARGS=()
HELP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --) shift; SUBMIT_ARGS=("$@"); break ;;
    --master) [[ $# -ge 2 ]] || die "--master needs a value"; MASTER="$2"; shift 2 ;;
    --master=*) MASTER="${1#--master=}"; shift ;;
    --env) [[ $# -ge 2 ]] || die "--env needs a value"; ENV_NAME="$2"; JOB_ARGS+=("$1" "$2"); shift 2 ;;
    --env=*) ENV_NAME="${1#--env=}"; JOB_ARGS+=("$1"); shift ;;
    -h|--help) HELP=1; JOB_ARGS+=("$1"); shift ;;
    *) JOB_ARGS+=("$1"); shift ;;
  esac
done

# A launcher started from inside another PySpark process must not attach to its gateway.
unset PYSPARK_GATEWAY_PORT PYSPARK_GATEWAY_SECRET PYSPARK_SUBMIT_ARGS
export PYTHONPATH="$HERE/lib${PYTHONPATH:+:$PYTHONPATH}"
if [[ $HELP -eq 1 ]]; then
  exec "$PY" "$HERE/jobs/$JOB.py" "${JOB_ARGS[@]}"
fi
[[ -f "$HERE/conf/$ENV_NAME.yaml" ]] || die "--env $ENV_NAME: no such file conf/$ENV_NAME.yaml"
# Fail fast: options, config keys and types, --as-of, a local --path are checked before the
# JVM starts (the job repeats the same checks, with the same one-line errors).
"$PY" -m lakecart.cli "$JOB" "${JOB_ARGS[@]}" || exit $?
if [[ -z "$MASTER" ]]; then
  if [[ "$ENV_NAME" == "local" ]]; then MASTER="local[*]"; else die "--env $ENV_NAME needs --master URL"; fi
fi

DELTA_VERSION="$("$PY" -c 'import importlib.metadata as m; print(m.version("delta-spark"))')"
SCALA_VERSION="2.13"
export PYSPARK_PYTHON="${PYSPARK_PYTHON:-$PY}"
export PYSPARK_DRIVER_PYTHON="$PY"
export SPARK_HOME="$("$VENV/bin/find_spark_home.py" 2>/dev/null || "$PY" -c 'import pyspark, os; print(os.path.dirname(pyspark.__file__))')"

DEFAULTS=(
  --master "$MASTER"
  --name "lakecart-$JOB"
  --packages "io.delta:delta-spark_${SCALA_VERSION}:${DELTA_VERSION}"
  --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension
  --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog
  --conf spark.sql.session.timeZone=UTC
  --conf "spark.pyspark.python=$PYSPARK_PYTHON"
  --conf "spark.driver.extraJavaOptions=-Dlog4j.configurationFile=file:$HERE/conf/log4j2.properties"
  --conf spark.ui.showConsoleProgress=true
  --py-files "$ZIP"
)
if [[ "$MASTER" == local* ]] && [[ " ${SUBMIT_ARGS[*]:-} " != *" --driver-memory "* ]]; then
  DEFAULTS+=(--driver-memory "${LAKECART_DRIVER_MEMORY:-4g}")
fi

exec "$SPARK_HOME/bin/spark-submit" "${DEFAULTS[@]}" ${SUBMIT_ARGS[@]+"${SUBMIT_ARGS[@]}"} \
  "$HERE/jobs/$JOB.py" --master "$MASTER" "${JOB_ARGS[@]}"
