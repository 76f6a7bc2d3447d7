"""A configured map-tile origin is let in by the pages' CSP; nothing else is."""

from alerting.api.protect import PAGE_CSP, page_csp


def test_no_tile_url_keeps_the_strict_policy():
    assert page_csp("") == PAGE_CSP


def test_tile_origin_is_allowed_for_images_only():
    policy = page_csp("https://{s}.tile.example.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: blob: https://*.tile.example.org;" in policy
    assert "connect-src 'self';" in policy and "script-src 'self';" in policy
    assert "img-src 'self' data: blob: https://tiles.example.net;" in page_csp("https://tiles.example.net/{z}/{x}/{y}.png")


def test_not_a_url_adds_nothing():
    assert page_csp("javascript:alert(1)") == PAGE_CSP
