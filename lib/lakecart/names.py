"""Table, column and reason-code names: the one place they are spelled.

Every module refers to tables and columns through these constants so that a rename is
a one-line change and a typo is an import error rather than a silent empty column.
"""

from __future__ import annotations

# ---------------------------------------------------------------- layers
BRONZE = "bronze"
SILVER = "silver"
FEATURES = "features"
GOLD = "gold"
OPS = "ops"
LAYERS = (BRONZE, SILVER, FEATURES, GOLD, OPS)

# ---------------------------------------------------------------- entities (landing format)
ORDERS = "orders"
PRODUCTS = "products"
CUSTOMERS = "customers"
EVENTS = "events"
RATINGS = "ratings"
REVIEWS = "reviews"
TRANSACTIONS = "transactions"
INVENTORY = "inventory"
CAMPAIGNS = "campaigns"
MESSAGES = "messages"  # customer-service messages (issue 15)
IP_RANGES = "ip_ranges"  # reference: IPv4 range -> country (issue 14)
ENTITIES = (
    ORDERS,
    PRODUCTS,
    CUSTOMERS,
    EVENTS,
    RATINGS,
    REVIEWS,
    TRANSACTIONS,
    INVENTORY,
    CAMPAIGNS,
    MESSAGES,
    IP_RANGES,
)

# ---------------------------------------------------------------- other tables
QUARANTINE = "quarantine"
RUNS = "runs"
DATA_QUALITY = "data_quality"
MODEL_METRICS = "model_metrics"

# ---------------------------------------------------------------- sources for `ingest`
SRC_ONLINE_RETAIL = "online_retail"
SRC_MOVIELENS = "movielens"
SRC_WOMENS_REVIEWS = "womens_reviews"
SRC_FRAUD = "fraud_ecommerce"
SRC_HILLSTROM = "hillstrom"
SRC_BITEXT = "bitext"
SRC_CANONICAL = "canonical"
SOURCES = (
    SRC_ONLINE_RETAIL,
    SRC_MOVIELENS,
    SRC_WOMENS_REVIEWS,
    SRC_FRAUD,
    SRC_HILLSTROM,
    SRC_BITEXT,
    SRC_CANONICAL,
)

# ---------------------------------------------------------------- lineage columns
SOURCE = "source"
SOURCE_FILE = "source_file"
ROW_NUMBER = "row_number"
RUN_ID = "run_id"
INGESTED_AT = "ingested_at"
RAW = "raw"
MALFORMED = "malformed"
FILE_SIZE = "file_size"
FILE_MTIME = "file_mtime"
ROW_HASH = "row_hash"

# ---------------------------------------------------------------- canonical columns
ORDER_ID = "order_id"
CUSTOMER_ID = "customer_id"
ORDER_TS = "order_ts"
ITEM_ID = "item_id"
QUANTITY = "quantity"
UNIT_PRICE = "unit_price"
COUNTRY = "country"
CHANNEL = "channel"
STATUS = "status"
IS_RETURN = "is_return"
REVENUE = "revenue"

TITLE = "title"
DESCRIPTION = "description"
CATEGORY = "category"
BRAND = "brand"
PRICE = "price"
IMAGE = "image"  # products: photo path relative to the landing folder

SIGNUP_TS = "signup_ts"
BIRTH_YEAR = "birth_year"
GENDER = "gender"

EVENT_TS = "event_ts"
USER_ID = "user_id"
SESSION_ID = "session_id"
EVENT_TYPE = "event_type"

RATING = "rating"
RATING_TS = "rating_ts"

REVIEW_ID = "review_id"
TEXT = "text"
REVIEW_TS = "review_ts"

TRANSACTION_ID = "transaction_id"
TXN_TS = "txn_ts"
AMOUNT = "amount"
DEVICE_ID = "device_id"
IP_ADDRESS = "ip_address"
BROWSER = "browser"
LABEL = "label"

SNAPSHOT_DATE = "snapshot_date"
ON_HAND = "on_hand"
LEAD_TIME_DAYS = "lead_time_days"
LEAD_TIME_STD_DAYS = "lead_time_std_days"
UNIT_COST = "unit_cost"
ORDER_COST = "order_cost"

CAMPAIGN_ID = "campaign_id"
SENT_TS = "sent_ts"
OFFER = "offer"
COST = "cost"
RESPONDED = "responded"
RESPONSE_TS = "response_ts"
ATTRIBUTES = "attributes"  # silver.customers: further landed columns as a map

MESSAGE_ID = "message_id"
INTENT = "intent"

IP_LOWER = "lower"
IP_UPPER = "upper"

# ---------------------------------------------------------------- ops columns
JOB = "job"
ARGS = "args"
STARTED_AT = "started_at"
FINISHED_AT = "finished_at"
ROWS_IN = "rows_in"
ROWS_OUT = "rows_out"
ERROR = "error"
TABLE = "table"
CHECK = "check"
PASSED = "passed"
FAILED_ROWS = "failed_rows"
DETAIL = "detail"
ENTITY = "entity"
REASON = "reason"
MODEL = "model"
MODEL_VERSION = "model_version"
DATASET = "dataset"
AS_OF = "as_of"
SPLIT = "split"
METRIC = "metric"
K = "k"
VALUE = "value"
BASELINE = "baseline"
BASELINE_VALUE = "baseline_value"
GENERATED_AT = "generated_at"

# ---------------------------------------------------------------- run status
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
ABANDONED = "abandoned"  # a run whose driver died while it was running

# ---------------------------------------------------------------- quarantine reason codes
R_MALFORMED = "malformed_row"  # wrong number of fields / unterminated quote
R_MISSING = "missing_required"  # a required field is empty
R_BAD_TS = "bad_timestamp"  # a timestamp that no configured format parses
R_NON_NUMERIC = "non_numeric"  # quantity, price, amount or rating is not a number
R_BAD_PRICE = "invalid_price"  # negative price, or a zero-value return (a stock write-off)
R_BAD_QUANTITY = "invalid_quantity"  # zero quantity: neither a sale nor a return
R_ADJUSTMENT = "accounting_adjustment"  # bookkeeping lines such as bad-debt adjustments
R_RATING_RANGE = "rating_out_of_range"
R_KEY_COLLISION = "key_collision"  # same key, different content: an older version lost
R_UNDECODABLE = "undecodable_text"  # bytes that are not valid in the declared encoding
R_BAD_VALUE = "invalid_value"  # a value outside its domain (negative stock, label not 0/1)

REASONS = {
    R_MALFORMED: "the record has the wrong number of fields or an unterminated quote",
    R_MISSING: "a required field is empty",
    R_BAD_TS: "a timestamp that none of the configured formats parses",
    R_NON_NUMERIC: "a numeric field (quantity, price, amount, rating) is not a number",
    R_BAD_PRICE: "a negative price, or a return whose unit price is zero (a stock write-off)",
    R_BAD_QUANTITY: "a zero quantity: neither a sale nor a return",
    R_ADJUSTMENT: "an accounting adjustment (e.g. bad debt), not a customer order line",
    R_RATING_RANGE: "a rating outside the configured range",
    R_KEY_COLLISION: "another record has the same key with different content; the latest wins",
    R_UNDECODABLE: "text that is not valid in the file's declared encoding",
    R_BAD_VALUE: "a value outside its domain (negative stock, label other than 0/1, …)",
}

# ---------------------------------------------------------------- feature tables (features layer)
INTERACTIONS = "interactions"
USER_FEATURES = "user_features"
ITEM_FEATURES = "item_features"
ITEM_DEMAND = "item_demand"
FEATURE_TABLES = (INTERACTIONS, USER_FEATURES, ITEM_FEATURES, ITEM_DEMAND)

# demand grains (SPEC 5: weeks are ISO weeks starting Monday; period_start is the Monday)
GRAIN = "grain"
DAY = "day"
WEEK = "week"
GRAINS = (DAY, WEEK)
PERIOD_START = "period_start"

# event types the features count, and the keys of features.event_weights that are not
# event types (an order line, an explicit rating, a review)
EV_VIEW = "view"
EV_CART = "cart"
EV_PURCHASE = "purchase"
W_ORDER = "order"
W_RATING = "rating"
W_REVIEW = "review"

# feature columns
PURCHASES = "purchases"
RETURNS = "returns"
UNITS = "units"
UNITS_RETURNED = "units_returned"
NET_REVENUE = "net_revenue"
VIEWS = "views"
CARTS = "carts"
FIRST_INTERACTION_TS = "first_interaction_ts"
LAST_INTERACTION_TS = "last_interaction_ts"
WEIGHT = "weight"
FIRST_ORDER_TS = "first_order_ts"
LAST_ORDER_TS = "last_order_ts"
RECENCY_DAYS = "recency_days"
FREQUENCY = "frequency"
MONETARY = "monetary"
TENURE_DAYS = "tenure_days"
AVG_ORDER_VALUE = "avg_order_value"
ITEMS_PER_ORDER = "items_per_order"
RETURN_RATE = "return_rate"
DISTINCT_ITEMS = "distinct_items"
DISTINCT_CATEGORIES = "distinct_categories"
DAYS_BETWEEN_ORDERS_MEAN = "days_between_orders_mean"
DAYS_BETWEEN_ORDERS_STD = "days_between_orders_std"
SESSIONS = "sessions"
VIEW_TO_PURCHASE = "view_to_purchase"
REVIEW_COUNT = "review_count"
REVIEW_MEAN_RATING = "review_mean_rating"
RATING_COUNT = "rating_count"
RATING_MEAN = "rating_mean"
MAIN_COUNTRY = "main_country"
MAIN_CHANNEL = "main_channel"
ORDER_COUNT = "orders"
BUYERS = "buyers"
PRICE_MEAN = "price_mean"
PRICE_MIN = "price_min"
PRICE_MAX = "price_max"
PRICE_LAST = "price_last"
PRICE_CHANGE = "price_change"
FIRST_SALE_TS = "first_sale_ts"
LAST_SALE_TS = "last_sale_ts"
DAYS_SINCE_FIRST_SALE = "days_since_first_sale"
DAYS_SINCE_LAST_SALE = "days_since_last_sale"
CONTENT_TEXT = "content_text"
AVG_PRICE = "avg_price"
DAYS_OBSERVED = "days_observed"
DAY_OF_WEEK = "day_of_week"
WEEK_OF_YEAR = "week_of_year"
MONTH = "month"
YEAR = "year"
IS_HOLIDAY = "is_holiday"
HOLIDAY_DAYS = "holiday_days"
CAMPAIGN_CONTACTS = "campaign_contacts"
CAMPAIGNS_ACTIVE = "campaigns_active"
PROMO_ACTIVE = "promo_active"


def windowed(column: str, days: int) -> str:
    """Name of a feature over the ``days`` days before as_of, e.g. ``orders_30d``."""
    return f"{column}_{days}d"


# ---------------------------------------------------------------- gold tables (SPEC section 4)
RECOMMENDATIONS = "recommendations"
SIMILAR_ITEMS = "similar_items"
POPULAR_ITEMS = "popular_items"
DEMAND_FORECAST = "demand_forecast"
INVENTORY_PLAN = "inventory_plan"
CUSTOMER_SEGMENTS = "customer_segments"
CUSTOMER_SCORES = "customer_scores"

# gold columns shared by every published table
# (MODEL_VERSION, AS_OF and GENERATED_AT are declared with the ops columns above)
RANK = "rank"
SCORE = "score"
SIMILAR_ITEM_ID = "similar_item_id"
METHOD = "method"
SEGMENT = "segment"
HORIZON = "horizon"
YHAT = "yhat"
YHAT_P10 = "yhat_p10"
YHAT_P90 = "yhat_p90"
ABC_CLASS = "abc_class"
MEAN_DEMAND = "mean_demand"
DEMAND_STD = "demand_std"
SERVICE_LEVEL = "service_level"
SAFETY_STOCK = "safety_stock"
REORDER_POINT = "reorder_point"
EOQ = "eoq"
REORDER_NOW = "reorder_now"
DAYS_OF_COVER = "days_of_cover"
R_SCORE = "r_score"
F_SCORE = "f_score"
M_SCORE = "m_score"
RFM_SEGMENT = "rfm_segment"
CLUSTER = "cluster"
CHURN_PROBABILITY = "churn_probability"
CLV_90D = "clv_90d"
PURCHASE_PROBABILITY_30D = "purchase_probability_30d"
VALUE_TIER = "value_tier"

# recommendation sources (gold.recommendations.source)
SRC_ALS = "als"
SRC_ITEM_CF = "item_cf"
SRC_CONTENT = "content"
SRC_POPULAR = "popular"
SRC_HYBRID = "hybrid"
REC_SOURCES = (SRC_ALS, SRC_ITEM_CF, SRC_CONTENT, SRC_POPULAR, SRC_HYBRID)

# dataset splits in ops.model_metrics.split
SPLIT_VALIDATION = "validation"
SPLIT_HOLDOUT = "holdout"
SPLIT_BACKTEST = "backtest"
SPLIT_TRAIN = "train"

# ---------------------------------------------------------------- recommend (issue 4): add names here

# ---------------------------------------------------------------- forecast (issue 5): add names here

# ---------------------------------------------------------------- customers (issue 6): add names here
CUSTOMER_CLUSTERS = "customer_clusters"  # gold: per-cluster profile of gold.customer_segments
CUSTOMERS_COUNT = "customers"  # customers in a cluster (or group)
SHARE = "share"
SILHOUETTE = "silhouette"
MEAN_RECENCY_DAYS = "mean_recency_days"
MEAN_FREQUENCY = "mean_frequency"
MEAN_MONETARY = "mean_monetary"
MEAN_R_SCORE = "mean_r_score"
MEAN_F_SCORE = "mean_f_score"
MEAN_M_SCORE = "mean_m_score"
MEAN_AVG_ORDER_VALUE = "mean_avg_order_value"
MEAN_TENURE_DAYS = "mean_tenure_days"
MEAN_DISTINCT_ITEMS = "mean_distinct_items"
TOP_RFM_SEGMENT = "top_rfm_segment"
# named RFM segments (gold.customer_segments.rfm_segment)
SEG_CHAMPIONS = "Champions"
SEG_LOYAL = "Loyal"
SEG_POTENTIAL = "Potential loyalists"
SEG_NEW = "New"
SEG_NEED_ATTENTION = "Need attention"
SEG_CANNOT_LOSE = "Cannot lose"
SEG_AT_RISK = "At risk"
SEG_HIBERNATING = "Hibernating"
SEG_LOST = "Lost"
# value tiers (gold.customer_scores.value_tier)
TIER_HIGH = "high"
TIER_MEDIUM = "medium"
TIER_LOW = "low"
TIER_NONE = "none"
# models and baselines in ops.model_metrics
M_CHURN = "churn_gbt"
M_PROPENSITY = "propensity_gbt"
M_CLV = "clv_gbt"
M_KMEANS = "customer_kmeans"
B_RECENCY = "recency"
B_RECENCY_CALIBRATED = "recency_calibrated"
B_FREQUENCY = "frequency"
B_RFM_SCORE = "rfm_score"
B_PREV_SPEND = "spend_prev_window"
B_BASE_RATE = "base_rate"  # every customer gets the training positive rate
B_RECENT_RATE = "recent_rate"  # CLV: net spend of the last 180 days scaled to the horizon
# targets of the publish decisions (ops.model_metrics metric 'published', lakecart.selection)
TARGET_CHURN = "churn"
TARGET_PROPENSITY = "propensity"
TARGET_CLV = "clv"

# ---------------------------------------------------------------- basket (issue 13): add names here
BASKET_RULES = "basket_rules"
BOUGHT_TOGETHER = "bought_together"
CART_COMPLETIONS = "cart_completions"
ANTECEDENT = "antecedent"
CONSEQUENT = "consequent"
SUPPORT = "support"
CONFIDENCE = "confidence"
LIFT = "lift"
BASKETS = "baskets"
OTHER_ITEM_ID = "other_item_id"
NON_MERCHANDISE = "non-merchandise"  # silver.products.category of postage, fees, adjustments
# models, baselines and metrics in ops.model_metrics
M_BOUGHT_TOGETHER = "bought_together"  # the published score (+ ":<shape>" for each candidate)
M_BASKET_RULES = "fpgrowth_rules"
B_COOCCURRENCE = "cooccurrence"
B_POPULARITY = "popularity"
HIT_RATE = "hit_rate"
MRR = "mrr"
QUERIES = "queries"

# ---------------------------------------------------------------- fraud (issue 14): add names here
FRAUD_SCORES = "fraud_scores"
# gold.fraud_scores columns
FRAUD_PROBABILITY = "fraud_probability"
ANOMALY_SCORE = "anomaly_score"
DECISION = "decision"
FRAUD_REASONS = "reasons"  # array<string>; N.REASONS is the quarantine reason dictionary
# decisions (gold.fraud_scores.decision)
DECISION_APPROVE = "approve"
DECISION_REVIEW = "review"
DECISION_BLOCK = "block"
DECISIONS = (DECISION_APPROVE, DECISION_REVIEW, DECISION_BLOCK)
# models and rule baselines in ops.model_metrics
M_FRAUD_GBT = "fraud_gbt"
M_FRAUD_LOGISTIC = "fraud_logistic"
M_FRAUD_ANOMALY = "fraud_anomaly"
B_SIGNUP_1H = "rule_signup_under_1h"
B_SHARED_DEVICE = "rule_shared_device"

# ---------------------------------------------------------------- sentiment + support (issue 15): add names here
REVIEW_SENTIMENT = "review_sentiment"
ITEM_SENTIMENT = "item_sentiment"
SUPPORT_TICKETS = "support_tickets"
SENTIMENT = "sentiment"  # gold.review_sentiment: negative, neutral or positive
P_POSITIVE = "p_positive"
ASPECTS = "aspects"
COMPLAINT = "complaint"
REVIEWS_COUNT = "reviews"  # gold.item_sentiment: reviews in the current window
SHARE_NEGATIVE = "share_negative"
SHARE_NEGATIVE_PREV = "share_negative_prev"
ALERT = "alert"
ALERT_P_VALUE = "alert_p_value"
BASELINE_SHARE_NEGATIVE = "baseline_share_negative"
TOP_POSITIVE_TERMS = "top_positive_terms"
TOP_NEGATIVE_TERMS = "top_negative_terms"
CONFIDENCE = "confidence"  # gold.support_tickets
QUEUE = "queue"
PRIORITY = "priority"
ENTITIES_MAP = "entities"  # (N.ENTITIES is the tuple of landing entities)
SUGGESTED_ANSWER = "suggested_answer"
# sentiment labels
NEGATIVE = "negative"
NEUTRAL = "neutral"
POSITIVE = "positive"
# entity keys of gold.support_tickets.entities
E_ORDER_ID = "order_id"
E_EMAIL = "email"
E_AMOUNT = "amount"
QUEUE_HUMAN = "human"
# models and baselines in ops.model_metrics
M_SENTIMENT = "sentiment"  # + the chosen kind, e.g. sentiment_lr
M_SUPPORT = "support_intent"  # + the chosen kind, e.g. support_intent_lr
B_MAJORITY = "majority_class"
B_VADER = "vader"
B_KEYWORDS = "keywords"

# ---------------------------------------------------------------- marketing (issue 16): add names here
CAMPAIGN_TARGETS = "campaign_targets"
PROMOTION_EFFECTS = "promotion_effects"
CONTROL_OFFER = "control"  # campaigns.offer of the held-out control group (as are NULL and '')
# gold.campaign_targets columns (CUSTOMER_ID, OFFER, COST and RANK are declared above)
UPLIFT = "uplift"
P_RESPONSE = "p_response"
EXPECTED_INCREMENTAL_REVENUE = "expected_incremental_revenue"
EXPECTED_PROFIT = "expected_profit"
SEND = "send"
# gold.promotion_effects columns (CATEGORY is declared above)
PE_ITEMS = "items"
PE_PROMO_PERIODS = "promo_periods"
PE_ITEM_PROMO_WEEKS = "item_promo_weeks"
PE_BASELINE_UNITS = "baseline_units"
PE_PROMO_UNITS = "promo_units"
PE_INCREMENTAL_UNITS = "incremental_units"
PE_LIFT = "lift"
# uplift meta-learners and learners (ops.model_metrics.model = <meta>_<learner>[_pooled])
META_TWO_MODEL = "two_model"
META_S_LEARNER = "s_learner"
META_TRANSFORMED_OUTCOME = "transformed_outcome"
META_LEARNERS = (META_TWO_MODEL, META_S_LEARNER, META_TRANSFORMED_OUTCOME)
LEARNER_LOGISTIC = "logistic"
LEARNER_GBT = "gbt"
UPLIFT_LEARNERS = (LEARNER_LOGISTIC, LEARNER_GBT)
# models, baselines and metrics in ops.model_metrics
M_UPLIFT = "uplift"  # the model chosen per offer (dataset '<name> offer=<offer>')
M_PROMOTION_LIFT = "promotion_lift"
B_RANDOM = "random"
B_RESPONSE_MODEL = "response_model"  # P(respond | sent): "likely to respond if treated"
MT_UPLIFT_AT = "uplift_at_k"  # k = percent targeted
MT_SHARE_CAPTURED = "share_captured"
MT_QINI = "qini"
MT_REVENUE_UPLIFT_AT = "revenue_uplift_at_k"
MT_REVENUE_SHARE_CAPTURED = "revenue_share_captured"
MT_WITHIN_NOISE = "within_noise_of_random"  # 1 when the share's interval holds random's share
MT_CHOSEN = "chosen"  # 1 on the candidate chosen for the offer

# ---------------------------------------------------------------- report + marts (issue 17): add names here
SALES_DAILY = "sales_daily"
COHORT_RETENTION = "cohort_retention"
FUNNEL_DAILY = "funnel_daily"
ITEM_SALES_WEEKLY = "item_sales_weekly"  # gold: item x ISO week sales (top/declining items)
UNKNOWN = "unknown"  # a mart dimension whose value is absent (no country, channel, category)
ORDER_DATE = "order_date"
ORDERS_ATTRIBUTED = "orders_attributed"
GROSS_REVENUE = "gross_revenue"
RETURNED_REVENUE = "returned_revenue"
NEW_CUSTOMERS = "new_customers"
COHORT_MONTH = "cohort_month"
MONTHS_SINCE = "months_since"
COHORT_CUSTOMERS = "cohort_customers"
ACTIVE_CUSTOMERS = "active_customers"
RETENTION = "retention"
MONTH_COMPLETE = "month_complete"
SESSION_DATE = "session_date"
VIEW_SESSIONS = "view_sessions"
CART_SESSIONS = "cart_sessions"
PURCHASE_SESSIONS = "purchase_sessions"
VIEW_TO_CART = "view_to_cart"
CART_TO_PURCHASE = "cart_to_purchase"
CONVERSION_RATE = "conversion_rate"

# ---------------------------------------------------------------- generate profiles (issue 22): add names here
GEN_PROFILE_DEFAULT = "default"  # the demo shop: two years, repeat customers, all entities
GEN_PROFILE_LONGTAIL = "longtail"  # one year, one-off buyers, a long-tail catalogue
GEN_PROFILE_SKEW = "skew"  # the demo shop plus one huge customer and one item in most baskets
GEN_PROFILES = (GEN_PROFILE_DEFAULT, GEN_PROFILE_LONGTAIL, GEN_PROFILE_SKEW)

# ---------------------------------------------------------------- images (issue 21)
IMAGE_FEATURES = "image_features"  # features layer: one vector per photographed item
PRODUCT_IMAGE_TAGS = "product_image_tags"
VISUALLY_SIMILAR = "visually_similar"
CHECKSUM = "checksum"
VECTOR = "vector"
COLOURS = "colours"
WIDTH = "width"
HEIGHT = "height"
COMPUTED_AT = "computed_at"
LEVEL_CONFIDENCES = "level_confidences"
GIVEN_CATEGORY = "given_category"
CATEGORY_DISAGREES = "category_disagrees"
CATEGORY_SOURCE = "category_source"
M_IMAGES = "images"
B_MAJORITY = "majority_class"
R_IMAGE_NOT_FOUND = "image_not_found"
R_UNREADABLE_IMAGE = "unreadable_image"
REASONS[R_IMAGE_NOT_FOUND] = "the product's image path names no file Spark can list"
REASONS[R_UNREADABLE_IMAGE] = "the product's image file is not an image Pillow can decode"
