"""Declared schemas of the forecast and inventory tables (SPEC section 4)."""

from __future__ import annotations

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import BOOL, DBL, INT, Col, D, S

DEMAND_FORECAST = gold_spec(
    N.DEMAND_FORECAST,
    "Demand forecast per active item and future period (units sold; returns and cancellations "
    "excluded), with a P10-P90 interval. Weeks are ISO weeks; a week's period_start is its Monday "
    "and the first forecast week is the first Monday on or after as_of.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.PERIOD_START, D, "first day of the forecast period (a Monday for weeks)", False),
        Col(N.GRAIN, S, "day or week", False),
        Col(N.HORIZON, INT, "periods ahead: 1 = the first period on or after as_of", False),
        Col(N.YHAT, DBL, "point forecast of units", False),
        Col(N.YHAT_P10, DBL, "10th percentile of units", False),
        Col(N.YHAT_P90, DBL, "90th percentile of units", False),
    ),
    keys=(N.ITEM_ID, N.PERIOD_START),
    checks={"interval_ordered": "yhat_p10 <= yhat_p90", "horizon_positive": "horizon >= 1"},
)
INVENTORY_PLAN = gold_spec(
    N.INVENTORY_PLAN,
    "Replenishment plan per active item from the demand forecast: ABC class, lead-time demand, "
    "safety stock, reorder point and economic order quantity.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.ABC_CLASS, S, "A, B or C by share of revenue", False),
        Col(N.MEAN_DEMAND, DBL, "mean daily demand in units over the forecast horizon", False),
        Col(N.DEMAND_STD, DBL, "standard deviation of daily demand in units", False),
        Col(N.LEAD_TIME_DAYS, DBL, "supplier lead time in days (inventory, else config)", False),
        Col(N.SERVICE_LEVEL, DBL, "target cycle service level of the item's ABC class", False),
        Col(
            N.SAFETY_STOCK,
            DBL,
            "z x f x sqrt(L x sigma_d^2 + d^2 x sigma_L^2), units; f = the class's backtest-calibrated safety factor (1 when calibration is off)",
            False,
        ),
        Col(N.REORDER_POINT, DBL, "d x L + safety stock, units", False),
        Col(N.EOQ, DBL, "economic order quantity sqrt(2DS/H), units", False),
        Col(N.ON_HAND, DBL, "units on hand at the latest snapshot before as_of; NULL when unknown"),
        Col(N.REORDER_NOW, BOOL, "on_hand <= reorder_point; NULL when on-hand is unknown"),
        Col(N.DAYS_OF_COVER, DBL, "on_hand / mean daily demand; NULL when unknown or no demand"),
    ),
    keys=(N.ITEM_ID,),
)

FORECAST_SPECS = (DEMAND_FORECAST, INVENTORY_PLAN)
