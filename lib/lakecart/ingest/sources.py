"""Source adapters: where each source's files are, how to read them, and how their raw
columns map onto the canonical landing format (SPEC section 3).

An adapter only *maps*; typing and checks are the same for every source
(:mod:`lakecart.ingest.clean`). Mappings are SQL expressions over ``raw``, the map of
the record's fields as text, so bronze keeps exactly what was read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecart import names as N


class IngestError(RuntimeError):
    """Input that cannot be ingested; the message is one line for the user."""


@dataclass(frozen=True)
class FileInfo:
    """A listed input file.

    ``path`` is what readers are given; ``uri`` (URL-encoded, as Spark's
    ``_metadata.file_path``) is the file's identity in bronze/silver ``_source_file``.
    """

    path: str
    uri: str
    size: int
    mtime_ms: int


@dataclass
class FileSet:
    """Files of one entity read the same way.

    Attributes:
        entity: Canonical entity the files land as.
        files: Files to read.
        fmt: csv, parquet or json.
        options: Spark reader options (sep, encoding, header...).
        names: Column names for header-less CSV files.
        mapping: Canonical column -> SQL expression over ``raw``; None maps by name.
        required_raw: Raw columns that must exist (checked before anything is read).
        attributes_exclude: Raw columns that are not customer attributes although the
            mapping does not use them (e.g. a campaign's outcome landed in the same file).
        dedupe: Whether a repeated raw record is a duplicate (False when the row number is
            the record's identity).
    """

    entity: str
    files: list[FileInfo]
    fmt: str = "csv"
    options: dict[str, str] = field(default_factory=dict)
    names: list[str] | None = None
    mapping: dict[str, str] | None = None
    required_raw: list[str] = field(default_factory=list)
    attributes_exclude: list[str] = field(default_factory=list)
    dedupe: bool = True


@dataclass
class Derivation:
    """An entity derived from another one's accepted rows (e.g. products from order lines).

    ``fn`` takes the classified rows of ``from_entity`` that went to silver (with ``raw``)
    and returns landing-shaped string columns of ``entity`` plus lineage.
    """

    entity: str
    from_entity: str
    fn: Callable[[DataFrame], DataFrame]


@dataclass
class SourcePlan:
    """What an ingest run reads."""

    source: str
    filesets: list[FileSet]
    derivations: list[Derivation] = field(default_factory=list)


# ------------------------------------------------------------------ listing
def norm_path(p: str) -> str:
    """Comparable form of a file URI (``file:///x`` and ``file:/x`` -> ``file:/x``)."""
    return re.sub(r"^file:/+", "file:/", p)


def list_files(spark: SparkSession, path: str) -> list[FileInfo]:
    """List data files under ``path`` (a file or a folder, recursively) via Hadoop FS.

    Hidden files (``.x``, ``_x``) are skipped. Works for local, HDFS and object stores.

    Raises:
        IngestError: when the path does not exist.
    """
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    hp = jvm.org.apache.hadoop.fs.Path(path)
    fs = hp.getFileSystem(conf)
    if not fs.exists(hp):
        raise IngestError(f"path not found: {path}")
    out = []
    it = fs.listFiles(hp, True)
    while it.hasNext():
        st = it.next()
        p = st.getPath()
        if any(part.startswith((".", "_")) for part in str(p.toUri().getPath()).split("/")[-1:]):
            continue
        out.append(
            FileInfo(
                str(p.toString()),
                norm_path(str(p.toUri().toString())),
                int(st.getLen()),
                int(st.getModificationTime()),
            )
        )
    return sorted(out, key=lambda f: f.path)


def landing_root(spark: SparkSession, path: str) -> str:
    """The qualified URI of the landing folder: ``path`` itself, or its parent when it is a
    file (relative file references in landing files are resolved against it)."""
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    hp = jvm.org.apache.hadoop.fs.Path(path)
    fs = hp.getFileSystem(conf)
    q = fs.makeQualified(hp)
    if fs.exists(q) and fs.getFileStatus(q).isFile():
        q = q.getParent()
    return str(q.toString()).rstrip("/")


def _base(f: FileInfo) -> str:
    return f.path.rsplit("/", 1)[-1]


def _pick(files: list[FileInfo], pattern: str) -> list[FileInfo]:
    rx = re.compile(pattern, re.IGNORECASE)
    return [f for f in files if rx.fullmatch(_base(f))]


# ------------------------------------------------------------------ adapters
def plan_online_retail(files: list[FileInfo]) -> SourcePlan:
    """UCI Online Retail: one CSV (or XLSX converted to CSV) or a folder of per-day CSVs."""
    csvs = _pick(files, r".*\.csv")
    if not csvs:
        raise IngestError("online_retail: no .csv or .xlsx files found")
    inv = "raw['InvoiceNo']"
    mapping = {
        N.ORDER_ID: inv,
        N.CUSTOMER_ID: "raw['CustomerID']",
        N.ORDER_TS: "raw['InvoiceDate']",
        N.ITEM_ID: "raw['StockCode']",
        N.QUANTITY: "raw['Quantity']",
        N.UNIT_PRICE: "raw['UnitPrice']",
        N.COUNTRY: "raw['Country']",
        N.CHANNEL: "'online'",
        # C-invoices are cancellations; A-invoices are bad-debt adjustments, not orders.
        N.STATUS: f"CASE WHEN upper(trim({inv})) LIKE 'C%' THEN 'cancelled' "
        f"WHEN upper(trim({inv})) LIKE 'A%' THEN 'adjustment' ELSE 'completed' END",
    }
    fs = FileSet(
        N.ORDERS,
        csvs,
        options={"header": "true"},
        mapping=mapping,
        required_raw=[
            "InvoiceNo",
            "StockCode",
            "Quantity",
            "InvoiceDate",
            "UnitPrice",
            "CustomerID",
        ],
    )
    return SourcePlan(
        N.SRC_ONLINE_RETAIL,
        [fs],
        [
            Derivation(N.PRODUCTS, N.ORDERS, _products_from_order_lines),
            Derivation(N.CUSTOMERS, N.ORDERS, _customers_from_order_lines),
        ],
    )


def _mode(value: str, by: list[str]) -> Callable[[DataFrame], DataFrame]:
    """Most frequent non-empty ``value`` per ``by`` (ties: the greater value)."""

    def f(df: DataFrame) -> DataFrame:
        counted = (
            df.filter(F.col(value).isNotNull())
            .groupBy(*by, value)
            .agg(
                F.count(F.lit(1)).alias("_n"),
                F.min(F.struct("_source_file", "_row_number")).alias("_first"),
            )
        )
        w = Window.partitionBy(*by).orderBy(F.col("_n").desc(), F.col(value).desc())
        return counted.withColumn("_r", F.row_number().over(w)).filter("_r = 1").drop("_r", "_n")

    return f


def _lineage_from_first(df: DataFrame, template: DataFrame) -> DataFrame:
    one = template.select("_source", "_run_id", "_ingested_at").limit(1)
    return (
        df.select(
            "*",
            F.col("_first._source_file").alias("_source_file"),
            F.col("_first._row_number").alias("_row_number"),
        )
        .drop("_first")
        .crossJoin(one)
    )


# Online Retail stock codes that are not merchandise: postage, carriage, manual lines, bank
# and marketplace fees, discounts, samples, charity, pads (a price-adjustment line), tests
# and gift vouchers. Their products land with category NON_MERCHANDISE so that stages
# which reason about what shoppers buy (basket, recommend) can leave them out.
NON_MERCHANDISE = "non-merchandise"
ONLINE_RETAIL_SERVICE_CODES = (
    r"(?i)^(POST|DOT|C2|C3|M|BANK CHARGES|AMAZONFEE|CRUK|D|S|B|PADS|ADJUST\d*|TEST\d*"
    r"|GIFT_\d+_\d+)$"
)


def _products_from_order_lines(rows: DataFrame) -> DataFrame:
    d = rows.select(
        N.ITEM_ID,
        F.trim(F.col(N.RAW)["Description"]).alias(N.TITLE),
        F.col("_source_file"),
        F.col("_row_number"),
    ).filter(F.col(N.TITLE) != "")
    top = _mode(N.TITLE, [N.ITEM_ID])(d)
    price = (
        rows.filter(~F.col(N.IS_RETURN))
        .groupBy(N.ITEM_ID)
        .agg(F.expr(f"percentile_approx({N.UNIT_PRICE}, 0.5)").alias(N.PRICE))
    )
    service = F.col(N.ITEM_ID).rlike(ONLINE_RETAIL_SERVICE_CODES)
    out = top.join(price, N.ITEM_ID, "left").select(
        N.ITEM_ID,
        N.TITLE,
        F.when(service, F.lit(NON_MERCHANDISE)).alias(N.CATEGORY),
        F.col(N.PRICE).cast("string").alias(N.PRICE),
        "_first",
    )
    return _lineage_from_first(out, rows)


def _customers_from_order_lines(rows: DataFrame) -> DataFrame:
    d = rows.filter(F.col(N.CUSTOMER_ID).isNotNull()).select(
        N.CUSTOMER_ID, N.COUNTRY, "_source_file", "_row_number"
    )
    top = _mode(N.COUNTRY, [N.CUSTOMER_ID])(d)
    return _lineage_from_first(top.select(N.CUSTOMER_ID, N.COUNTRY, "_first"), rows)


ML_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


def _q(s: str) -> str:
    """Escape a value for a single-quoted SQL string literal."""
    return s.replace("\\", "\\\\").replace("'", "\\'")


def plan_movielens(files: list[FileInfo]) -> SourcePlan:
    """MovieLens 100K (u.data/u.item/u.user), 1M (*.dat) or latest (ratings.csv/movies.csv)."""
    udata = _pick(files, r"u\.data")
    dat = _pick(files, r"ratings\.dat")
    csv = _pick(files, r"ratings\.csv")
    sets: list[FileSet] = []
    rating_map = {
        N.USER_ID: "raw['user_id']",
        N.ITEM_ID: "raw['item_id']",
        N.RATING: "raw['rating']",
        N.RATING_TS: "raw['timestamp']",
    }

    def headerless_ratings(paths: list[FileInfo], sep: str) -> FileSet:
        names = ["user_id", "item_id", "rating", "timestamp"]
        options = {"sep": sep, "header": "false"}
        return FileSet(N.RATINGS, paths, options=options, names=names, mapping=rating_map)

    if udata:
        sets.append(headerless_ratings(udata, "\t"))
        uitem = _pick(files, r"u\.item")
        if uitem:
            inames = [
                "movie_id",
                "title",
                "release_date",
                "video_release_date",
                "imdb_url",
                *ML_GENRES,
            ]
            genres = ", ".join(
                f"CASE WHEN raw['{_q(g)}'] = '1' THEN '{_q(g)}' END" for g in ML_GENRES
            )
            sets.append(
                FileSet(
                    N.PRODUCTS,
                    uitem,
                    options={"sep": "|", "header": "false", "encoding": "ISO-8859-1"},
                    names=inames,
                    mapping={
                        N.ITEM_ID: "raw['movie_id']",
                        N.TITLE: "raw['title']",
                        N.CATEGORY: f"concat_ws('|', {genres})",
                    },
                )
            )
        uuser = _pick(files, r"u\.user")
        if uuser:
            sets.append(
                FileSet(
                    N.CUSTOMERS,
                    uuser,
                    options={"sep": "|", "header": "false"},
                    names=["user_id", "age", "gender", "occupation", "zip_code"],
                    mapping={N.CUSTOMER_ID: "raw['user_id']", N.GENDER: "raw['gender']"},
                )
            )
    elif dat:
        sets.append(headerless_ratings(dat, "::"))
        movies = _pick(files, r"movies\.dat")
        if movies:
            sets.append(
                FileSet(
                    N.PRODUCTS,
                    movies,
                    options={"sep": "::", "header": "false", "encoding": "ISO-8859-1"},
                    names=["movie_id", "title", "genres"],
                    mapping={
                        N.ITEM_ID: "raw['movie_id']",
                        N.TITLE: "raw['title']",
                        N.CATEGORY: "raw['genres']",
                    },
                )
            )
        users = _pick(files, r"users\.dat")
        if users:
            sets.append(
                FileSet(
                    N.CUSTOMERS,
                    users,
                    options={"sep": "::", "header": "false"},
                    names=["user_id", "gender", "age", "occupation", "zip_code"],
                    mapping={N.CUSTOMER_ID: "raw['user_id']", N.GENDER: "raw['gender']"},
                )
            )
    elif csv:
        sets.append(
            FileSet(
                N.RATINGS,
                csv,
                options={"header": "true"},
                mapping={
                    N.USER_ID: "raw['userId']",
                    N.ITEM_ID: "raw['movieId']",
                    N.RATING: "raw['rating']",
                    N.RATING_TS: "raw['timestamp']",
                },
                required_raw=["userId", "movieId", "rating"],
            )
        )
        movies = _pick(files, r"movies\.csv")
        if movies:
            sets.append(
                FileSet(
                    N.PRODUCTS,
                    movies,
                    options={"header": "true"},
                    mapping={
                        N.ITEM_ID: "raw['movieId']",
                        N.TITLE: "raw['title']",
                        N.CATEGORY: "raw['genres']",
                    },
                    required_raw=["movieId", "title"],
                )
            )
    else:
        raise IngestError("movielens: found none of u.data, ratings.dat, ratings.csv")
    return SourcePlan(N.SRC_MOVIELENS, sets)


def plan_womens_reviews(files: list[FileInfo]) -> SourcePlan:
    """Women's E-Commerce Clothing Reviews (one CSV; first column is an unnamed row index)."""
    csvs = _pick(files, r".*\.csv")
    if not csvs:
        raise IngestError("womens_reviews: no .csv file found")
    reviews = FileSet(
        N.REVIEWS,
        csvs,
        options={"header": "true", "multiLine": "true", "escape": '"'},
        mapping={
            N.REVIEW_ID: "raw['_c0']",
            N.ITEM_ID: "raw['Clothing ID']",
            N.RATING: "raw['Rating']",
            N.TITLE: "raw['Title']",
            N.TEXT: "raw['Review Text']",
        },
        required_raw=["Clothing ID", "Rating", "Review Text"],
    )
    return SourcePlan(
        N.SRC_WOMENS_REVIEWS, [reviews], [Derivation(N.PRODUCTS, N.REVIEWS, _products_from_reviews)]
    )


def _products_from_reviews(rows: DataFrame) -> DataFrame:
    d = (
        rows.filter(F.col(N.ITEM_ID).isNotNull())
        .select(
            N.ITEM_ID,
            F.concat_ws(
                "/",
                *[
                    F.trim(F.col(N.RAW)[c])
                    for c in ("Division Name", "Department Name", "Class Name")
                ],
            ).alias(N.CATEGORY),
            "_source_file",
            "_row_number",
        )
        .filter(F.col(N.CATEGORY) != "")
    )
    top = _mode(N.CATEGORY, [N.ITEM_ID])(d)
    return _lineage_from_first(top.select(N.ITEM_ID, N.CATEGORY, "_first"), rows)


def plan_fraud(files: list[FileInfo]) -> SourcePlan:
    """E-commerce fraud sample: fraud_data.csv (one purchase per user; class = label)."""
    data = [f for f in _pick(files, r".*\.csv") if "ipaddress" not in _base(f).lower()]
    if not data:
        raise IngestError("fraud_ecommerce: no transactions .csv found")
    fs = FileSet(
        N.TRANSACTIONS,
        data,
        options={"header": "true"},
        mapping={
            N.TRANSACTION_ID: "raw['user_id']",
            N.CUSTOMER_ID: "raw['user_id']",
            N.TXN_TS: "raw['purchase_time']",
            N.AMOUNT: "raw['purchase_value']",
            N.SIGNUP_TS: "raw['signup_time']",
            N.DEVICE_ID: "raw['device_id']",
            N.IP_ADDRESS: "raw['ip_address']",
            N.SOURCE: "raw['source']",
            N.BROWSER: "raw['browser']",
            N.LABEL: "raw['class']",
        },
        required_raw=["user_id", "purchase_time", "purchase_value", "class"],
    )
    sets = [fs]
    ranges = [f for f in _pick(files, r".*\.csv") if "ipaddress" in _base(f).lower()]
    if ranges:
        sets.append(
            FileSet(
                N.IP_RANGES,
                ranges,
                options={"header": "true"},
                mapping={
                    N.IP_LOWER: "raw['lower_bound_ip_address']",
                    N.IP_UPPER: "raw['upper_bound_ip_address']",
                    N.COUNTRY: "raw['country']",
                },
                required_raw=["lower_bound_ip_address", "upper_bound_ip_address", "country"],
            )
        )
    return SourcePlan(N.SRC_FRAUD, sets)


# The Hillstrom file has no dates and no customer ids: customers are numbered by their row
# and the campaign gets one fixed send date (the outcome window was the next two weeks).
HILLSTROM_CAMPAIGN = "hillstrom-2008"
HILLSTROM_SENT = "2008-03-01 00:00:00"
HILLSTROM_OUTCOMES = ["segment", "visit", "conversion", "spend"]


def plan_hillstrom(files: list[FileInfo]) -> SourcePlan:
    """Kevin Hillstrom's MineThatData e-mail campaign (one CSV, 64,000 customers).

    Lands every row twice: as a customer (id = the 1-based row number; every column but
    the campaign and its outcome kept as attributes) and as a campaign contact (offer
    ``mens`` / ``womens`` for the two e-mails, ``control`` for the randomised no-e-mail
    group; responded = visit, revenue = spend).
    """
    csvs = _pick(files, r".*\.csv")
    if not csvs:
        raise IngestError("hillstrom: no .csv file found")
    cid = "cast(_row_number as string)"
    required = ["recency", "history", "segment", "visit", "spend"]
    customers = FileSet(
        N.CUSTOMERS,
        csvs,
        options={"header": "true"},
        mapping={N.CUSTOMER_ID: cid},
        required_raw=required,
        attributes_exclude=HILLSTROM_OUTCOMES,
        dedupe=False,  # customers are rows: two with the same attributes are two customers
    )
    seg = "lower(trim(raw['segment']))"
    campaigns = FileSet(
        N.CAMPAIGNS,
        csvs,
        options={"header": "true"},
        mapping={
            N.CAMPAIGN_ID: f"'{HILLSTROM_CAMPAIGN}'",
            N.CUSTOMER_ID: cid,
            N.SENT_TS: f"'{HILLSTROM_SENT}'",
            N.CHANNEL: "'email'",
            N.OFFER: f"CASE WHEN {seg} LIKE 'mens%' THEN 'mens' WHEN {seg} LIKE 'womens%' "
            f"THEN 'womens' WHEN {seg} LIKE 'no%' THEN 'control' ELSE {seg} END",
            N.RESPONDED: "raw['visit']",
            N.REVENUE: "raw['spend']",
        },
        required_raw=required,
        dedupe=False,
    )
    return SourcePlan(N.SRC_HILLSTROM, [customers, campaigns])


# Bitext's files carry no ids and no dates: a message's id is its split and row number
# (training-12, validation-3, testing-7) and every message gets one fixed send time.
BITEXT_SENT = "2024-01-01 00:00:00"


def plan_bitext(files: list[FileInfo]) -> SourcePlan:
    """Bitext customer-service intents: the training, validation and testing CSVs, each
    utterance a message labelled with its intent."""
    csvs = _pick(files, r".*\.csv")
    if not csvs:
        raise IngestError("bitext: no .csv file found")
    # the split named in the file's own name (not in the folders above it)
    split = "lower(regexp_extract(_source_file, '(?i)(training|validation|testing|train|test)[^/]*$', 1))"
    messages = FileSet(
        N.MESSAGES,
        csvs,
        options={"header": "true", "multiLine": "true", "escape": '"'},
        mapping={
            N.MESSAGE_ID: f"concat_ws('-', nullif({split}, ''), cast(_row_number as string))",
            N.SENT_TS: f"'{BITEXT_SENT}'",
            N.TEXT: "raw['utterance']",
            N.INTENT: "raw['intent']",
        },
        required_raw=["utterance", "intent"],
    )
    return SourcePlan(N.SRC_BITEXT, [messages])


def plan_canonical(files: list[FileInfo], root: str, fmt: str = "auto") -> SourcePlan:
    """A folder in the landing format: ``<entity>.<ext>`` or ``<entity>/part-*.<ext>``."""
    from lakecart.ingest.clean import landed_columns, required_columns

    groups: dict[tuple[str, str], list[FileInfo]] = {}
    for f in files:
        m = re.search(r"\.(csv|parquet|json|jsonl|ndjson)$", _base(f), re.IGNORECASE)
        if not m:
            continue
        # <root>/<entity>.<ext>, <root>/<entity>/part-*.<ext> or deeper (<entity>/k=v/part-*)
        parts = f.path.split("/")
        candidates = [parts[-1][: m.start()].lower(), *[p.lower() for p in reversed(parts[:-1])]]
        entity = next((c for c in candidates if c in N.ENTITIES), None)
        if entity is None:
            continue
        ext = m.group(1).lower()
        kind = {"jsonl": "json", "ndjson": "json"}.get(ext, ext)
        if fmt != "auto" and kind != fmt:
            continue
        groups.setdefault((entity, kind), []).append(f)
    if not groups:
        raise IngestError(
            f"canonical: no entity files under {root} (expected <entity>.csv|parquet|json or "
            f"<entity>/part-*, entities: {', '.join(N.ENTITIES)})"
        )
    sets = []
    for (entity, kind), fl in sorted(groups.items()):
        opts = {"header": "true", "multiLine": "true", "escape": '"'} if kind == "csv" else {}
        sets.append(
            FileSet(
                entity,
                fl,
                fmt=kind,
                options=opts,
                mapping={c: f"raw['{c}']" for c in landed_columns(entity)},
                required_raw=required_columns(entity),
            )
        )
    return SourcePlan(N.SRC_CANONICAL, sets)


def plan(source: str, files: list[FileInfo], root: str, landing_format: str = "auto") -> SourcePlan:
    """Dispatch to the adapter for ``source``."""
    if not files:
        raise IngestError(f"no input files under {root}")
    if source == N.SRC_ONLINE_RETAIL:
        return plan_online_retail(files)
    if source == N.SRC_MOVIELENS:
        return plan_movielens(files)
    if source == N.SRC_WOMENS_REVIEWS:
        return plan_womens_reviews(files)
    if source == N.SRC_FRAUD:
        return plan_fraud(files)
    if source == N.SRC_HILLSTROM:
        return plan_hillstrom(files)
    if source == N.SRC_BITEXT:
        return plan_bitext(files)
    if source == N.SRC_CANONICAL:
        return plan_canonical(files, root, landing_format)
    raise IngestError(f"unknown source {source!r} (known: {', '.join(N.SOURCES)})")


# ------------------------------------------------------------------ reading
def _clean_name(name: str) -> str:
    return name.replace("\ufeff", "").strip()


def read_raw(spark: SparkSession, fs: FileSet, encoding: str = "UTF-8") -> DataFrame:
    """Read a file set into bronze shape (without run lineage): one row per record.

    Columns: ``_source_file``, ``_row_number``, ``_file_size``, ``_file_mtime``, ``raw``
    (map of field name -> text) and ``malformed`` (the raw line when the record could not
    be split into the header's fields).

    Raises:
        IngestError: when the files are empty or lack the required columns.
    """
    paths = [f.path for f in fs.files]
    if fs.fmt == "csv":
        opts = {"encoding": encoding, "mode": "PERMISSIVE", **fs.options}
        if fs.names is not None:
            names = list(fs.names)
            opts["header"] = "false"
            header_seen = names
        else:
            head = spark.read.options(**opts).csv(paths[0])
            header_seen = head.columns
            names = [_clean_name(c) or f"_c{i}" for i, c in enumerate(header_seen)]
            if not header_seen:
                raise IngestError(f"{paths[0]}: empty file (no header row)")
        _require(fs, names, paths[0])
        schema = T.StructType(
            [T.StructField(n, T.StringType()) for n in names]
            + [T.StructField("_corrupt", T.StringType())]
        )
        opts["columnNameOfCorruptRecord"] = "_corrupt"
        opts["enforceSchema"] = "true"
        df = spark.read.options(**opts).schema(schema).csv(paths)
    elif fs.fmt == "json":
        df = spark.read.options(
            mode="PERMISSIVE", columnNameOfCorruptRecord="_corrupt", **fs.options
        ).json(paths)
        if "_corrupt" not in df.columns:
            df = df.withColumn("_corrupt", F.lit(None).cast("string"))
        names = [c for c in df.columns if c != "_corrupt"]
        _require(fs, names, paths[0])
    elif fs.fmt == "parquet":
        df = (
            spark.read.options(**fs.options)
            .parquet(*paths)
            .withColumn("_corrupt", F.lit(None).cast("string"))
        )
        names = [c for c in df.columns if c != "_corrupt"]
        _require(fs, names, paths[0])
    else:
        raise IngestError(f"unsupported format {fs.fmt}")

    raw = F.create_map(*[x for n in names for x in (F.lit(n), F.col(f"`{n}`").cast("string"))])
    meta = F.col("_metadata")
    df = df.select(
        F.regexp_replace(meta.file_path, r"^file:/+", "file:/").alias("_source_file"),
        meta.file_size.alias("_file_size"),
        meta.file_modification_time.alias("_file_mtime"),
        F.spark_partition_id().alias("_pid"),
        F.monotonically_increasing_id().alias("_mid"),
        raw.alias(N.RAW),
        F.col("_corrupt").alias(N.MALFORMED),
    )
    return df.transform(_number_rows).select(
        "_source_file", "_row_number", "_file_size", "_file_mtime", N.RAW, N.MALFORMED
    )


def _number_rows(df: DataFrame) -> DataFrame:
    """1-based row number within each file, without shuffling the rows.

    A file is read in order by one task per split, and monotonically_increasing_id() is
    consecutive within a task; so a row's number is its id minus the first id of its
    (file, split) plus the rows of the file's earlier splits. Only a tiny (file, split)
    summary is aggregated and broadcast back.
    """
    splits = df.groupBy("_source_file", "_pid").agg(
        F.min("_mid").alias("_first"), F.count(F.lit(1)).alias("_n")
    )
    w = (
        Window.partitionBy("_source_file")
        .orderBy("_pid")
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    splits = splits.withColumn("_before", F.coalesce(F.sum("_n").over(w), F.lit(0))).drop("_n")
    return df.join(F.broadcast(splits), ["_source_file", "_pid"]).withColumn(
        "_row_number", (F.col("_mid") - F.col("_first") + F.col("_before") + 1).cast("long")
    )


def _require(fs: FileSet, names: list[str], first: str) -> None:
    missing = [c for c in fs.required_raw if c not in names]
    if missing:
        shown = ", ".join(names[:8])[:120]
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in (";", "\t", "|")):
            hint = " (wrong delimiter?)"
        raise IngestError(
            f"{first}: required columns {missing} not found for {fs.entity}; header has [{shown}]{hint}"
        )


def mapped_raw_columns(fs: FileSet) -> set[str]:
    """Raw columns the file set's mapping reads (``raw['x']`` in its expressions)."""
    used: set[str] = set()
    for expr in (fs.mapping or {}).values():
        used.update(re.findall(r"raw\['([^']+)'\]", expr))
    return used


def attributes_column(fs: FileSet) -> F.Column:
    """The record's further fields as a map: every non-empty raw field that the mapping
    does not read and that is not excluded, trimmed; NULL when there is none."""
    skip = sorted(mapped_raw_columns(fs) | set(fs.attributes_exclude))
    kept = F.transform_values(
        F.map_filter(
            F.col(N.RAW),
            lambda k, v: (
                (~k.isin(*skip) if skip else F.lit(True)) & v.isNotNull() & (F.trim(v) != F.lit(""))
            ),
        ),
        lambda k, v: F.trim(v),
    )
    return F.when(F.size(kept) > 0, kept)


def map_to_landing(bronze: DataFrame, fs: FileSet) -> DataFrame:
    """Bronze rows -> canonical string columns of the entity (plus lineage, raw, malformed);
    customers also get ``attributes`` (:func:`attributes_column`)."""
    mapping = fs.mapping or {}
    cols = [F.expr(expr).cast("string").alias(c) for c, expr in mapping.items()]
    if fs.entity == N.CUSTOMERS:
        cols.append(attributes_column(fs).alias(N.ATTRIBUTES))
    keep = [c for c in bronze.columns if c.startswith("_") or c in (N.RAW, N.MALFORMED)]
    return bronze.select(*keep, *cols)
