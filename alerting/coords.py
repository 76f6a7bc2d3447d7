"""Coordinates printed only to the precision their uncertainty supports. Pure functions.

One rule for every text that shows a point: the API's `text`, notifications, and the pages
(alerting/web/static/format.js `coordinates` implements the same rule; the browser test
checks that both agree). A degree of latitude is about 111 km, so each decimal place is
worth a tenth of that: ±7.4 km supports 2 decimals (≈1.1 km), ±50 m supports 4 (≈11 m).
A longitude degree is shorter away from the equator, so the rule errs on the side of fewer
digits there.
"""

from __future__ import annotations

import math

METRES_PER_DEGREE = 111_000.0
MIN_DECIMALS = 1
MAX_DECIMALS = 5  # ≈1 m: more than any camera triangulation supports
UNKNOWN_DECIMALS = 2  # no uncertainty known: claim no better than ≈1 km


def decimals_for(uncertainty_m: float | None) -> int:
    """Decimal places of a degree that an uncertainty radius (metres) supports."""
    if uncertainty_m is None or not math.isfinite(uncertainty_m) or uncertainty_m <= 0:
        return UNKNOWN_DECIMALS
    wanted = math.ceil(math.log10(METRES_PER_DEGREE / uncertainty_m))
    return min(MAX_DECIMALS, max(MIN_DECIMALS, wanted))


def format_coordinates(latitude: float, longitude: float, uncertainty_m: float | None) -> str:
    """"19.80, 105.71" for ±7.4 km; "11.9851, 108.4900" for ±50 m."""
    decimals = decimals_for(uncertainty_m)
    return f"{latitude:.{decimals}f}, {longitude:.{decimals}f}"


def format_radius(uncertainty_m: float | None) -> str:
    """"7.4 km", "640 m", or "?" when unknown."""
    if uncertainty_m is None:
        return "?"
    return f"{uncertainty_m / 1000:.1f} km" if uncertainty_m >= 1000 else f"{uncertainty_m:.0f} m"


def format_point(latitude: float, longitude: float, uncertainty_m: float | None) -> str:
    """"19.80, 105.71 (± 7.4 km)": the whole point as the API and notifications print it."""
    return f"{format_coordinates(latitude, longitude, uncertainty_m)} (± {format_radius(uncertainty_m)})"
