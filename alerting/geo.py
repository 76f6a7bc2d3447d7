"""Where is the smoke? Bearings from one camera, a point from two or more.

A box's horizontal centre gives a compass bearing from the camera's azimuth
and field of view; its left and right edges give a cone. Cones of cameras that
see the same smoke cross; the crossing region (cones cut at the farthest range
a camera can see smoke) is where the smoke is: its centroid is the estimate and
its farthest corner from that centroid the uncertainty.

All pure functions. Geometry runs on a local flat east/north plane around the
cameras: at tens of kilometres its error is far below the cones' width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

EARTH_RADIUS_M = 6_371_008.8
# Beyond this a lens is not rectilinear (fisheye, stitched panorama): map x linearly.
_PINHOLE_MAX_FOV_DEG = 170.0
_ARC_STEP_DEG = 1.0
_MIN_AREA_M2 = 1.0


@dataclass(frozen=True)
class CameraPose:
    latitude: float
    longitude: float
    azimuth_deg: float  # compass bearing of the image centre
    fov_deg: float  # horizontal field of view


@dataclass(frozen=True)
class Cone:
    """Bearings in compass degrees [0, 360); min_deg is the left edge, clockwise to max_deg."""

    centre_deg: float
    min_deg: float
    max_deg: float

    @property
    def width_deg(self) -> float:
        return (self.max_deg - self.min_deg) % 360.0


@dataclass(frozen=True)
class Sighting:
    """One camera's cone towards one alert's smoke."""

    camera_id: str
    latitude: float
    longitude: float
    cone: Cone


@dataclass(frozen=True)
class Estimate:
    latitude: float
    longitude: float
    uncertainty_m: float
    camera_ids: tuple[str, ...]


def bearing_of_x(azimuth_deg: float, fov_deg: float, x: float) -> float:
    """Compass bearing of the image column at normalised x (0 left, 1 right)."""
    offset = x - 0.5
    if fov_deg < _PINHOLE_MAX_FOV_DEG:
        # Rectilinear lens: the image plane is flat, so angle = atan(offset * 2 * tan(fov/2)).
        angle = math.degrees(math.atan(offset * 2.0 * math.tan(math.radians(fov_deg) / 2.0)))
    else:
        angle = offset * fov_deg
    return (azimuth_deg + angle) % 360.0


def box_cone(pose: CameraPose, box: list[float] | tuple[float, ...]) -> Cone:
    """Bearing of the box centre and of its left and right edges."""
    x1, _, x2, _ = box
    return Cone(
        centre_deg=bearing_of_x(pose.azimuth_deg, pose.fov_deg, (x1 + x2) / 2.0),
        min_deg=bearing_of_x(pose.azimuth_deg, pose.fov_deg, x1),
        max_deg=bearing_of_x(pose.azimuth_deg, pose.fov_deg, x2),
    )


def widen(cone: Cone, error_deg: float) -> Cone:
    """The cone plus the calibration error on each side."""
    return Cone(cone.centre_deg, (cone.min_deg - error_deg) % 360.0, (cone.max_deg + error_deg) % 360.0)


# --- local plane -----------------------------------------------------------

XY = tuple[float, float]


@dataclass(frozen=True)
class _Plane:
    """Equirectangular projection around an origin: x east, y north, metres."""

    latitude: float
    longitude: float

    def to_xy(self, latitude: float, longitude: float) -> XY:
        x = math.radians(longitude - self.longitude) * EARTH_RADIUS_M * math.cos(math.radians(self.latitude))
        y = math.radians(latitude - self.latitude) * EARTH_RADIUS_M
        return x, y

    def to_latlon(self, point: XY) -> tuple[float, float]:
        x, y = point
        latitude = self.latitude + math.degrees(y / EARTH_RADIUS_M)
        longitude = self.longitude + math.degrees(x / (EARTH_RADIUS_M * math.cos(math.radians(self.latitude))))
        return latitude, longitude


def _direction(bearing_deg: float) -> XY:
    rad = math.radians(bearing_deg)
    return math.sin(rad), math.cos(rad)


def _wedge(apex: XY, cone: Cone, range_m: float) -> list[XY]:
    """The cone cut at range_m as a convex polygon, counter-clockwise."""
    steps = max(1, math.ceil(cone.width_deg / _ARC_STEP_DEG))
    arc = []
    for i in range(steps + 1):
        dx, dy = _direction(cone.min_deg + cone.width_deg * i / steps)
        arc.append((apex[0] + dx * range_m, apex[1] + dy * range_m))
    # Bearings run clockwise; reverse the arc so the polygon is counter-clockwise.
    return [apex, *reversed(arc)]


def _cross(o: XY, a: XY, b: XY) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _clip(subject: list[XY], clip: list[XY]) -> list[XY]:
    """Sutherland-Hodgman: subject polygon cut by a convex counter-clockwise polygon."""
    output = subject
    for i in range(len(clip)):
        edge_a, edge_b = clip[i], clip[(i + 1) % len(clip)]
        if not output:
            break
        points, output = output, []
        for j in range(len(points)):
            current, following = points[j], points[(j + 1) % len(points)]
            current_in = _cross(edge_a, edge_b, current) >= 0
            following_in = _cross(edge_a, edge_b, following) >= 0
            if current_in:
                output.append(current)
            if current_in != following_in:
                output.append(_intersect(current, following, edge_a, edge_b))
    return output


def _intersect(p1: XY, p2: XY, q1: XY, q2: XY) -> XY:
    """Where segment p1-p2 meets the line through q1-q2."""
    d1 = _cross(q1, q2, p1)
    d2 = _cross(q1, q2, p2)
    t = d1 / (d1 - d2)
    return p1[0] + (p2[0] - p1[0]) * t, p1[1] + (p2[1] - p1[1]) * t


def _area_and_centroid(polygon: list[XY]) -> tuple[float, XY]:
    area2 = cx = cy = 0.0
    for i in range(len(polygon)):
        (x0, y0), (x1, y1) = polygon[i], polygon[(i + 1) % len(polygon)]
        cross = x0 * y1 - x1 * y0
        area2 += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area2) < 1e-9:
        return 0.0, polygon[0]
    return abs(area2) / 2.0, (cx / (3.0 * area2), cy / (3.0 * area2))


def _region(wedges: list[list[XY]]) -> list[XY]:
    region = wedges[0]
    for wedge in wedges[1:]:
        region = _clip(region, wedge)
        if not region:
            return []
    return region


def triangulate(sightings: list[Sighting], max_range_m: float) -> Estimate | None:
    """Estimate from the cones that cross; None when fewer than two cameras' cones cross.

    With more than two cameras whose cones do not all share a region, the pair
    with the smallest crossing is taken and the others join while the region
    stays non-empty (a camera looking at other smoke must not pull the point away).
    """
    usable = [s for s in sightings if 0 < s.cone.width_deg < 180.0]
    if len({s.camera_id for s in usable}) < 2:
        return None
    plane = _Plane(
        sum(s.latitude for s in usable) / len(usable),
        sum(s.longitude for s in usable) / len(usable),
    )
    wedges = {id(s): _wedge(plane.to_xy(s.latitude, s.longitude), s.cone, max_range_m) for s in usable}

    best: tuple[float, list[Sighting], list[XY]] | None = None
    for a, b in combinations(usable, 2):
        if a.camera_id == b.camera_id:
            continue
        region = _region([wedges[id(a)], wedges[id(b)]])
        area, _ = _area_and_centroid(region) if len(region) >= 3 else (0.0, (0.0, 0.0))
        if area >= _MIN_AREA_M2 and (best is None or area < best[0]):
            best = (area, [a, b], region)
    if best is None:
        return None
    _, members, region = best
    for other in usable:
        if other in members or other.camera_id in {m.camera_id for m in members}:
            continue
        narrowed = _clip(region, wedges[id(other)])
        if len(narrowed) >= 3 and _area_and_centroid(narrowed)[0] >= _MIN_AREA_M2:
            members, region = [*members, other], narrowed

    _, centre = _area_and_centroid(region)
    uncertainty = max(math.dist(centre, corner) for corner in region)
    latitude, longitude = plane.to_latlon(centre)
    return Estimate(
        latitude=latitude,
        longitude=longitude,
        uncertainty_m=uncertainty,
        camera_ids=tuple(sorted(m.camera_id for m in members)),
    )


def destination(latitude: float, longitude: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point distance_m away along a great circle (used to build scenarios and checks)."""
    lat1, lon1, brg = math.radians(latitude), math.radians(longitude), math.radians(bearing_deg)
    d = distance_m / EARTH_RADIUS_M
    lat2 = math.asin(math.sin(lat1) * math.cos(d) + math.cos(lat1) * math.sin(d) * math.cos(brg))
    lon2 = lon1 + math.atan2(
        math.sin(brg) * math.sin(d) * math.cos(lat1), math.cos(d) - math.sin(lat1) * math.sin(lat2)
    )
    return math.degrees(lat2), (math.degrees(lon2) + 540.0) % 360.0 - 180.0


def initial_bearing(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Compass bearing from point 1 towards point 2."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
