"""Creating, reading and writing declared Delta tables.

Path-based by default (``<root>/<layer>/<table>``); metastore tables
``<catalog>.<schema_prefix>_<layer>.<table>`` when a catalog is configured. Every write is
checked against the table's declared schema first and is a single Delta commit, so a
failed run never leaves a half-written table.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart.config import LakehouseConfig
from lakecart.identifiers import sql_string
from lakecart.schemas import TableSpec

log = logging.getLogger(__name__)


class SchemaMismatch(ValueError):
    """A DataFrame does not match the declared schema of the table it is written to."""


class ConcurrentRunError(RuntimeError):
    """Another run kept committing to the same table while this one tried to."""


# Delta's optimistic-concurrency conflicts (io.delta.exceptions.*), by class or error class
_CONFLICT_NAMES = (
    "ConcurrentAppendException",
    "ConcurrentDeleteReadException",
    "ConcurrentDeleteDeleteException",
    "ConcurrentTransactionException",
    "ConcurrentWriteException",
    "MetadataChangedException",
    "ProtocolChangedException",
    "DeltaConcurrentModificationException",
    "DELTA_CONCURRENT_",
    "DELTA_METADATA_CHANGED",
    "DELTA_PROTOCOL_CHANGED",
)


# how Delta refuses a table creation that races another process's (see Lakehouse._create)
_CREATION_RACE = ("DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION", "DELTA_TABLE_NOT_FOUND")


def _creation_race(e: BaseException) -> bool:
    return is_commit_conflict(e) or any(n in str(e)[:2000] for n in _CREATION_RACE)


def is_commit_conflict(e: BaseException) -> bool:
    """Whether ``e`` is a Delta commit conflict with another writer (nothing was written)."""
    names = [c.__name__ for c in type(e).__mro__]
    text = f"{getattr(e, 'getErrorClass', lambda: None)() or ''} {str(e)[:2000]}"
    return any(n in names for n in _CONFLICT_NAMES) or any(n in text for n in _CONFLICT_NAMES)


class Lakehouse:
    """Resolves declared tables to locations and performs checked, atomic writes.

    Args:
        spark: The session.
        config: The ``lakehouse`` section of the configuration.
    """

    def __init__(self, spark: SparkSession, config: LakehouseConfig) -> None:
        self.spark = spark
        self.config = config
        self._created: set[str] = set()
        self._create_lock = threading.Lock()

    # ------------------------------------------------------------ naming
    @property
    def metastore(self) -> bool:
        """True when tables are metastore tables rather than paths."""
        return bool(self.config.catalog) or self.config.use_metastore

    def schema_name(self, layer: str) -> str:
        """``[catalog.]<prefix>_<layer>``."""
        db = f"{self.config.schema_prefix}_{layer}"
        return f"{self.config.catalog}.{db}" if self.config.catalog else db

    def path(self, spec: TableSpec) -> str:
        """Location of a path-based table."""
        return f"{self.config.root.rstrip('/')}/{spec.layer}/{spec.name}"

    def ident(self, spec: TableSpec) -> str:
        """A SQL identifier for the table (``delta.`path``` or the metastore name)."""
        if self.metastore:
            return f"{self.schema_name(spec.layer)}.{spec.name}"
        return f"delta.`{self.path(spec)}`"

    # ------------------------------------------------------------ lifecycle
    def exists(self, spec: TableSpec) -> bool:
        """Whether the table has been created."""
        if self.metastore:
            return self.spark.catalog.tableExists(f"{self.schema_name(spec.layer)}.{spec.name}")
        return DeltaTable.isDeltaTable(self.spark, self.path(spec))

    def create(self, spec: TableSpec) -> None:
        """Create the table from its declaration if it does not exist (idempotent; safe
        from several threads, e.g. the pipeline's concurrent stages)."""
        if spec.full_name in self._created:
            return
        with self._create_lock:
            self._create(spec)

    def _create(self, spec: TableSpec, attempts: int = 6) -> None:
        """Create ``spec``'s table, or bring an existing one up to date.

        Another process creating the same table at the same moment shows up as one of
        Delta's refusals: a conflicting first commit (ProtocolChangedException), a
        ``_delta_log`` folder that is there before its first commit
        (DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION), or a table that looks created but has
        no commit to read yet (DELTA_TABLE_NOT_FOUND). Then the table is theirs, declared
        the same: this run waits for their commit and uses it.
        """
        if spec.full_name in self._created:
            return
        for attempt in range(attempts):
            try:
                self._create_once(spec)
                break
            except Exception as e:
                if not _creation_race(e) or attempt == attempts - 1:
                    raise
                log.info("%s: being created by a concurrent run; waiting", spec.full_name)
                time.sleep(0.2 * 2**attempt)
        self._created.add(spec.full_name)

    def _create_once(self, spec: TableSpec) -> None:
        if self.exists(spec):
            # made by an earlier run, perhaps of an older release: bring it up to date
            self._add_missing_columns(spec)
            self._add_missing_constraints(spec)
            return
        # one commit holds the columns, comments and CHECK constraints (a constraint in
        # the table's first metadata needs no ALTER TABLE and no validation scan)
        if self.metastore:
            self.spark.sql(f"CREATE SCHEMA IF NOT EXISTS {self.schema_name(spec.layer)}")
            builder = DeltaTable.createIfNotExists(self.spark).tableName(self.ident(spec))
        else:
            builder = DeltaTable.createIfNotExists(self.spark).location(self.path(spec))
        for c in spec.columns:
            builder = builder.addColumn(c.name, c.dtype, nullable=c.nullable, comment=c.comment)
        if spec.partition_by:
            builder = builder.partitionedBy(*spec.partition_by)
        builder = builder.comment(spec.comment).property("delta.appendOnly", "false")
        for name, expr in spec.checks.items():
            builder = builder.property(f"delta.constraints.{name.lower()}", expr)
        builder.execute()

    def _add_missing_constraints(self, spec: TableSpec) -> None:
        """Add the declared CHECK constraints a table created by an older release lacks."""
        if not spec.checks:
            return
        existing = {
            r["key"] for r in self.spark.sql(f"SHOW TBLPROPERTIES {self.ident(spec)}").collect()
        }
        for name, expr in spec.checks.items():
            if f"delta.constraints.{name.lower()}" not in existing:
                self.spark.sql(
                    f"ALTER TABLE {self.ident(spec)} ADD CONSTRAINT {name} CHECK ({expr})"
                )

    def _add_missing_columns(self, spec: TableSpec) -> None:
        """Add the declared nullable columns a table created by an older release lacks
        (``ALTER TABLE ADD COLUMNS``, metadata only); a missing required column is an error."""
        table = (
            DeltaTable.forName(self.spark, self.ident(spec))
            if self.metastore
            else DeltaTable.forPath(self.spark, self.path(spec))
        )  # not self.delta(): it would take the creation lock again
        have = {f.name for f in table.toDF().schema.fields}
        missing = [c for c in spec.columns if c.name not in have]
        if not missing:
            return
        required = [c.name for c in missing if not c.nullable]
        if required:
            raise ValueError(
                f"{spec.full_name}: the table lacks the required columns {required}; "
                "it was created by an incompatible release"
            )
        cols = ", ".join(
            f"`{c.name}` {c.dtype.simpleString()} COMMENT {sql_string(c.comment)}" for c in missing
        )
        self.spark.sql(f"ALTER TABLE {self.ident(spec)} ADD COLUMNS ({cols})")
        log.info("%s: added the columns %s", spec.full_name, [c.name for c in missing])

    def read(self, spec: TableSpec) -> DataFrame:
        """Read a declared table (creating it empty first if needed)."""
        self.create(spec)
        if self.metastore:
            return self.spark.table(self.ident(spec))
        return self.spark.read.format("delta").load(self.path(spec))

    def delta(self, spec: TableSpec) -> DeltaTable:
        """The :class:`DeltaTable` handle."""
        self.create(spec)
        if self.metastore:
            return DeltaTable.forName(self.spark, self.ident(spec))
        return DeltaTable.forPath(self.spark, self.path(spec))

    def version(self, spec: TableSpec) -> int | None:
        """Current Delta version, or None when the table does not exist."""
        if not self.exists(spec):
            return None
        return int(self.delta(spec).history(1).select("version").first()[0])

    # ------------------------------------------------------------ writes
    def _writer(self, df: DataFrame, spec: TableSpec):
        return df.write.format("delta")

    def _save(self, writer, spec: TableSpec) -> None:
        if self.metastore:
            writer.saveAsTable(self.ident(spec))
        else:
            writer.save(self.path(spec))

    def _committing(self, spec: TableSpec, write: Callable[[], None]) -> None:
        """Run one idempotent write, retrying it when another writer's commit conflicts.

        A conflicting commit writes nothing (Delta's optimistic concurrency), and the writes
        retried here - ``replaceWhere`` overwrites and keyed ``MERGE``s - give the same
        table whether they run once or again after the other writer, so a retry never
        duplicates rows. Appends are blind in Delta and do not conflict; they are not
        retried. After ``lakehouse.commit_retries`` retries (jittered, growing waits) the
        run stops with :class:`ConcurrentRunError`.
        """
        retries = max(0, int(self.config.commit_retries))
        for attempt in range(retries + 1):
            try:
                write()
                return
            except Exception as e:
                if not is_commit_conflict(e):
                    raise
                if attempt == retries:
                    raise ConcurrentRunError(
                        f"another run is writing {spec.full_name}: its commits conflicted with "
                        f"this run's {retries + 1} times; run again when it has finished"
                    ) from e
                wait = min(30.0, 0.5 * 2**attempt) * (0.5 + random.random())  # noqa: S311
                log.warning(
                    "%s: a concurrent commit conflicted with this write (%s); retry %d of %d in %.1fs",
                    spec.full_name, type(e).__name__, attempt + 1, retries, wait,
                )  # fmt: skip
                time.sleep(wait)

    def replace_where(self, df: DataFrame, spec: TableSpec, condition: str | Column) -> None:
        """Atomically replace the rows matching ``condition`` with ``df``.

        Every row of ``df`` must satisfy ``condition`` (Delta checks it). Re-running with the
        same input leaves the same table.

        Args:
            df: Rows to write, matching the declared schema.
            spec: Target table.
            condition: SQL predicate selecting the rows this write owns.
        """
        self.create(spec)
        df = conform(df, spec)
        cond = condition if isinstance(condition, str) else _sql(condition)
        w = self._writer(df, spec).mode("overwrite").option("replaceWhere", cond)
        self._committing(spec, lambda: self._save(w, spec))

    def append(self, df: DataFrame, spec: TableSpec) -> None:
        """Append rows after the schema check."""
        self.create(spec)
        self._save(self._writer(conform(df, spec), spec).mode("append"), spec)

    def merge(self, df: DataFrame, spec: TableSpec, keys: tuple[str, ...] | None = None) -> None:
        """Upsert ``df`` on ``keys`` (default: the declared keys): update matches, insert others."""
        keys = keys or spec.keys
        if not keys:
            raise ValueError(f"{spec.full_name}: merge needs keys")
        self.create(spec)
        df = conform(df, spec)
        cond = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        self._committing(
            spec,
            lambda: (
                self.delta(spec)
                .alias("t")
                .merge(df.alias("s"), cond)
                .whenMatchedUpdateAll()
                .whenNotMatchedInsertAll()
                .execute()
            ),
        )


def _sql(col: Column) -> str:
    # Column -> SQL text for replaceWhere; PySpark has no public API, so keep predicates
    # built from simple expressions.
    return str(col._jc.expr().sql())  # noqa: SLF001


def conform(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Check ``df`` against the declared schema and return it in declared column order.

    Columns must match by name and type exactly (no silent casts or dropped columns);
    nullability is enforced by Delta's NOT NULL constraints at write time.

    Raises:
        SchemaMismatch: naming the missing, unexpected or mistyped columns.
    """
    have = {f.name: f.dataType for f in df.schema.fields}
    want = {c.name: c.dtype for c in spec.columns}
    missing = [c for c in want if c not in have]
    extra = [c for c in have if c not in want]
    wrong = [
        f"{c} is {have[c].simpleString()}, declared {want[c].simpleString()}"
        for c in want
        if c in have and have[c] != want[c]
    ]
    problems = []
    if missing:
        problems.append(f"missing {missing}")
    if extra:
        problems.append(f"unexpected {extra}")
    if wrong:
        problems.append("; ".join(wrong))
    if problems:
        raise SchemaMismatch(f"{spec.full_name}: " + "; ".join(problems))
    return df.select(*[F.col(f"`{c}`") for c in spec.column_names])
