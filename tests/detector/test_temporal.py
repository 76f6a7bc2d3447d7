import pytest

from detector.temporal import TemporalParams, TemporalVote, iou, same_place
from detector.types import Detection

PARAMS = TemporalParams(window=4, min_hits=2, overlap_iou=0.05, release_misses=3, alert_score=0.25, min_mean_score=0.0)
LEFT = (0.10, 0.40, 0.20, 0.50)
LEFT_DRIFTED = (0.12, 0.38, 0.23, 0.49)
RIGHT = (0.70, 0.40, 0.80, 0.50)


def smoke(box, score=0.6):
    return Detection("smoke", score, box)


def run(vote, frames):
    return [vote.update(frame) for frame in frames]


def test_iou_and_same_place():
    assert iou(LEFT, LEFT) == pytest.approx(1.0)
    assert iou(LEFT, RIGHT) == 0.0
    assert same_place(LEFT, LEFT_DRIFTED, 0.05)
    assert not same_place(LEFT, RIGHT, 0.0)
    assert same_place((0, 0, 1, 1), (0.4, 0.4, 0.41, 0.41), 0.9)  # nested counts whatever the IoU


def test_isolated_blips_do_not_alert():
    vote = TemporalVote(PARAMS)
    # Hits 5 frames apart never share a window of 4.
    frames = [[smoke(LEFT)], [], [], [], [], [smoke(LEFT)], [], [], [], [], [smoke(LEFT)]]
    results = run(vote, frames)
    assert not any(r.new_alert or r.confirmed for r in results)
    # Blips at different places in consecutive frames are not one place either.
    results = run(TemporalVote(PARAMS), [[smoke(LEFT)], [smoke(RIGHT)], [], [smoke((0.4, 0.1, 0.5, 0.2))]])
    assert not any(r.new_alert for r in results)


def test_low_scores_do_not_vote():
    results = run(TemporalVote(PARAMS), [[smoke(LEFT, 0.2)]] * 6)
    assert not any(r.confirmed for r in results)


def test_sustained_detection_alerts_once():
    results = run(TemporalVote(PARAMS), [[smoke(LEFT)], [smoke(LEFT_DRIFTED, 0.7)]] + [[smoke(LEFT)]] * 8)
    assert [r.new_alert for r in results] == [False, True] + [False] * 8
    assert [r.confirmed for r in results] == [False] + [True] * 9
    assert results[1].detection == smoke(LEFT_DRIFTED, 0.7)


def test_hysteresis_holds_through_short_gaps_and_releases_after_misses():
    vote = TemporalVote(PARAMS)
    on = [smoke(LEFT)]
    results = run(vote, [on, on, [], [], on, on])  # gap of 2 < release_misses=3
    assert [r.new_alert for r in results] == [False, True, False, False, False, False]
    assert [r.confirmed for r in results] == [False, True, False, False, True, True]
    results = run(vote, [[], [], [], on, on])  # 3 misses release the place; it may alert again
    assert [r.new_alert for r in results] == [False, False, False, False, True]
    assert results[2].tracked_places == 0


def test_two_places_tracked_and_alerted_separately():
    vote = TemporalVote(PARAMS)
    results = run(vote, [[smoke(LEFT)], [smoke(LEFT), smoke(RIGHT, 0.9)], [smoke(LEFT), smoke(RIGHT, 0.9)]])
    assert [r.new_alert for r in results] == [False, True, True]
    assert results[1].detection == smoke(LEFT)  # only LEFT was confirmed then
    assert results[2].detection == smoke(RIGHT, 0.9)  # best of both confirmed places
    assert results[2].tracked_places == 2


def test_params_are_validated():
    with pytest.raises(ValueError):
        TemporalParams(window=2, min_hits=3, overlap_iou=0.1, release_misses=1, alert_score=0.5, min_mean_score=0.0)


def test_mean_score_floor_lets_faint_hits_count_but_not_alone():
    """2 of 4 at alert_score 0.1, with a mean floor of 0.2: faint flicker never alerts, faint-then-clear smoke does."""
    params = TemporalParams(window=4, min_hits=2, overlap_iou=0.05, release_misses=3, alert_score=0.1, min_mean_score=0.2)
    flicker = run(TemporalVote(params), [[smoke(LEFT, 0.12)], [smoke(LEFT, 0.15)], [smoke(LEFT, 0.13)], [smoke(LEFT, 0.14)]])
    assert not any(r.new_alert for r in flicker)
    growing = run(TemporalVote(params), [[smoke(LEFT, 0.12)], [smoke(LEFT, 0.3)]])
    assert [r.new_alert for r in growing] == [False, True]  # mean 0.21 >= 0.2
