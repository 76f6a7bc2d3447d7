"""Bearings and triangulation: pure geometry against known answers."""

import math

import pytest

from alerting import geo
from tests.alerting.conftest import CAMERAS
from tests.alerting.helpers import box_towards

A, B = CAMERAS[0], CAMERAS[1]


def pose(camera: dict) -> geo.CameraPose:
    return geo.CameraPose(camera["latitude"], camera["longitude"], camera["azimuth_deg"], camera["fov_deg"])


def test_bearing_centre_and_edges():
    assert geo.bearing_of_x(45.0, 60.0, 0.5) == pytest.approx(45.0)
    assert geo.bearing_of_x(45.0, 60.0, 0.0) == pytest.approx(15.0)
    assert geo.bearing_of_x(45.0, 60.0, 1.0) == pytest.approx(75.0)
    # Rectilinear lens: a quarter of the way across is atan(0.5*tan(30)) ~ 16.1 deg left, not 15.
    assert geo.bearing_of_x(45.0, 60.0, 0.25) == pytest.approx(
        45.0 - math.degrees(math.atan(0.5 * math.tan(math.radians(30))))
    )


def test_bearing_wraps_through_north():
    assert geo.bearing_of_x(350.0, 40.0, 1.0) == pytest.approx(10.0)
    assert geo.bearing_of_x(5.0, 40.0, 0.0) == pytest.approx(345.0)


def test_panorama_maps_linearly():
    assert geo.bearing_of_x(0.0, 360.0, 0.75) == pytest.approx(90.0)


def test_cone_from_box_width():
    cone = geo.box_cone(geo.CameraPose(0, 0, 90.0, 60.0), [0.4, 0.1, 0.6, 0.3])
    assert cone.min_deg < cone.centre_deg < cone.max_deg
    assert cone.centre_deg == pytest.approx(90.0)
    assert cone.width_deg == pytest.approx(2 * math.degrees(math.atan(0.2 * math.tan(math.radians(30)))))
    wide = geo.widen(cone, 1.0)
    assert wide.width_deg == pytest.approx(cone.width_deg + 2.0)


def test_two_cameras_locate_the_smoke():
    target = (11.985, 108.49)  # between and north of the towers
    sightings = [
        geo.Sighting(
            c["id"], c["latitude"], c["longitude"], geo.widen(geo.box_cone(pose(c), box_towards(c, *target)), 0.5)
        )
        for c in (A, B)
    ]
    estimate = geo.triangulate(sightings, max_range_m=50_000)
    assert estimate is not None
    error = geo.haversine_m(estimate.latitude, estimate.longitude, *target)
    assert error < estimate.uncertainty_m
    assert error < 300
    assert 100 < estimate.uncertainty_m < 2000  # cones ~2.7 deg wide at ~13 km
    assert estimate.camera_ids == ("tower-a", "tower-b")


def test_cones_that_do_not_cross_give_no_point():
    # A looks at a point north-east of itself, B at one far south-west of A: the cones diverge.
    cone_a = geo.widen(geo.box_cone(pose(A), box_towards(A, 11.985, 108.49)), 0.5)
    b_south = dict(B, azimuth_deg=225.0)
    cone_b = geo.widen(geo.box_cone(pose(b_south), box_towards(b_south, 11.80, 108.48)), 0.5)
    sightings = [
        geo.Sighting("tower-a", A["latitude"], A["longitude"], cone_a),
        geo.Sighting("tower-b", B["latitude"], B["longitude"], cone_b),
    ]
    assert geo.triangulate(sightings, max_range_m=50_000) is None


def test_crossing_beyond_range_gives_no_point():
    target = (11.985, 108.49)  # ~13 km from each tower
    sightings = [
        geo.Sighting(c["id"], c["latitude"], c["longitude"], geo.box_cone(pose(c), box_towards(c, *target)))
        for c in (A, B)
    ]
    assert geo.triangulate(sightings, max_range_m=5_000) is None


def test_one_camera_is_not_enough():
    cone = geo.box_cone(pose(A), box_towards(A, 11.985, 108.49))
    assert geo.triangulate([geo.Sighting("tower-a", A["latitude"], A["longitude"], cone)], 50_000) is None


def test_a_third_camera_looking_elsewhere_is_left_out():
    target = (11.985, 108.49)
    c = {"id": "tower-c", "latitude": 12.10, "longitude": 108.49, "azimuth_deg": 0.0, "fov_deg": 60.0}
    sightings = [
        geo.Sighting(
            cam["id"],
            cam["latitude"],
            cam["longitude"],
            geo.widen(geo.box_cone(pose(cam), box_towards(cam, *target)), 0.5),
        )
        for cam in (A, B)
    ]
    sightings.append(
        geo.Sighting(
            "tower-c", c["latitude"], c["longitude"], geo.widen(geo.box_cone(pose(c), [0.45, 0.4, 0.55, 0.5]), 0.5)
        )
    )
    estimate = geo.triangulate(sightings, 50_000)
    assert estimate is not None and estimate.camera_ids == ("tower-a", "tower-b")
    assert geo.haversine_m(estimate.latitude, estimate.longitude, *target) < 300


def test_three_cameras_narrow_the_region():
    target = (11.985, 108.49)
    south = {"id": "tower-s", "latitude": 11.85, "longitude": 108.50, "azimuth_deg": 0.0, "fov_deg": 60.0}
    cams = (A, B, south)
    sightings = [
        geo.Sighting(
            c["id"], c["latitude"], c["longitude"], geo.widen(geo.box_cone(pose(c), box_towards(c, *target)), 0.5)
        )
        for c in cams
    ]
    two = geo.triangulate(sightings[:2], 50_000)
    three = geo.triangulate(sightings, 50_000)
    assert three.camera_ids == ("tower-a", "tower-b", "tower-s")
    assert three.uncertainty_m <= two.uncertainty_m
    assert geo.haversine_m(three.latitude, three.longitude, *target) < three.uncertainty_m


def test_destination_and_bearing_agree():
    lat, lon = geo.destination(11.9, 108.4, 30.0, 10_000)
    assert geo.initial_bearing(11.9, 108.4, lat, lon) == pytest.approx(30.0, abs=0.01)
    assert geo.haversine_m(11.9, 108.4, lat, lon) == pytest.approx(10_000, rel=1e-6)
