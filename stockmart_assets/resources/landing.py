"""Where the trading service drops its exports."""

import dagster as dg


class LandingResource(dg.ConfigurableResource):
    """The landing folder (``STOCKMART_LANDING_DIR``): customer.csv, budget.csv, stocks.csv, trade*.csv, stock/."""

    path: str
