"""Asynchronous successive halving: who is promoted, who trains on at once, what the search would ship; with a
cost, the rung's Pareto ranking."""

import random
from itertools import accumulate

import pytest

from bakeoff.search.engine.ladder import Config, Rungs, goes_on, incumbent, promotable, rung_order, top_of_rung


def _configs(*rung0_scores: float) -> list[Config]:
    return [Config(key, {0: score}) for key, score in enumerate(rung0_scores)]


def test_rungs_grow_geometrically_and_refuse_nonsense():
    assert [Rungs(1, 2).epochs(k) for k in range(5)] == [1, 2, 4, 8, 16]
    assert [Rungs(2, 3).epochs(k) for k in range(3)] == [2, 6, 18]
    assert Rungs(1, 4).describe(2) == "1, 4, 16"
    for first, factor in ((0, 2), (1, 1)):
        with pytest.raises(ValueError):
            Rungs(first, factor)


def test_only_the_top_share_of_a_rung_goes_on_and_fewer_than_factor_promote_none():
    assert top_of_rung(_configs(0.9), 0, 2) == set()  # one configuration says nothing of its rank
    assert top_of_rung(_configs(0.9, 0.8), 0, 2) == {0}
    assert top_of_rung(_configs(0.5, 0.9, 0.7, 0.8), 0, 2) == {1, 3}
    assert top_of_rung(_configs(0.5, 0.9, 0.7, 0.8), 0, 4) == {1}
    assert top_of_rung(_configs(0.8, 0.8, 0.1), 0, 3) == {0}  # a tie goes to the earlier configuration


def _costed(*points: tuple[float, float]) -> list[Config]:
    """Configurations at rung 0 with (score, cost)."""
    return [Config(key, {0: score}, cost=cost) for key, (score, cost) in enumerate(points)]


def test_with_a_cost_the_top_of_a_rung_is_its_front_not_its_most_accurate():
    # 0 and 1 are the front (1 cheaper, 0 more accurate); 2 is more accurate than 1 but dominated by 0, 3 by 1
    configs = _costed((0.99, 10.0), (0.98, 1.0), (0.985, 20.0), (0.97, 5.0))
    assert top_of_rung(configs, 0, 2) == {0, 1}
    assert top_of_rung(_configs(0.99, 0.98, 0.985, 0.97), 0, 2) == {0, 2}  # by score alone
    # the next rank follows the front: 2 and 3 are each dominated by one configuration only (both ends: the more
    # accurate first)
    assert [c.key for c in rung_order(configs, 0)] == [0, 1, 2, 3]


def test_within_the_front_its_ends_and_then_its_most_isolated_go_first():
    # all five on the front (each dearer one more accurate): the two ends (the more accurate first), then 3 in the
    # widest gap, then 2, then 1, crowded at the cheap end
    configs = _costed((0.90, 1.0), (0.91, 1.1), (0.92, 1.2), (0.97, 6.0), (0.99, 10.0))
    assert [c.key for c in rung_order(configs, 0)] == [4, 0, 3, 2, 1]
    assert top_of_rung(configs, 0, 2) == {0, 4}
    assert top_of_rung(configs[:3], 0, 2) == {2}  # one place: the most accurate end, not the earlier


def test_equal_points_and_ties_go_to_the_earlier_configuration():
    configs = _costed((0.95, 2.0), (0.95, 2.0), (0.90, 3.0))
    assert [c.key for c in rung_order(configs, 0)] == [0, 1, 2]  # 0 and 1 share the front; 2 is dominated by both
    assert top_of_rung(configs, 0, 3) == {0}


def test_the_ranking_groups_the_fronts_peeled_one_by_one():
    # the brute-force definition: rank 0 is what nothing dominates, rank 1 what nothing left dominates, and so on
    rng = random.Random(0)
    configs = _costed(*[(round(rng.uniform(0.9, 1.0), 2), float(rng.randint(1, 10))) for _ in range(60)])  # with ties
    left, levels = list(configs), []
    while left:
        levels.append({c.key for c in left if not any(o.scores[0] >= c.scores[0] and o.cost <= c.cost and
                                                       (o.scores[0], o.cost) != (c.scores[0], c.cost) for o in left)})
        left = [c for c in left if c.key not in levels[-1]]
    order = [c.key for c in rung_order(configs, 0)]
    ends = list(accumulate(len(level) for level in levels))
    assert len(levels) > 3 and [set(order[end - len(level):end]) for end, level in zip(ends, levels)] == levels


def test_a_configuration_without_a_cost_leaves_the_rung_ranked_by_score():
    configs = _costed((0.99, 10.0), (0.98, 1.0), (0.985, 20.0), (0.97, 5.0))
    configs[3].cost = None
    assert [c.key for c in rung_order(configs, 0)] == [0, 2, 1, 3]


def test_promotion_with_a_cost_follows_the_pareto_ranking():
    configs = _costed((0.99, 10.0), (0.98, 1.0), (0.985, 20.0), (0.97, 5.0))
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))] == [(0, 0), (0, 1)]
    assert goes_on(configs, configs[1], Rungs(1, 2)) and not goes_on(configs, configs[2], Rungs(1, 2))


def test_promotion_prefers_the_deepest_rung_then_the_best_and_skips_what_went_on_or_runs():
    configs = _configs(0.5, 0.9, 0.7, 0.8)
    configs[1].scores[1] = 0.95
    configs[1].went_on.add(0)
    configs[3].scores[1] = 0.96
    configs[3].went_on.add(0)
    # rung 1 has two configurations (1 and 3): the better, 3, may go to rung 2; at rung 0 the top half is {1, 3},
    # both already gone on
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))] == [(1, 3)]
    configs[3].running = True
    assert promotable(configs, Rungs(1, 2)) == []


def test_a_configuration_that_becomes_top_later_is_promoted_then():
    configs = _configs(0.6, 0.9)
    configs[1].went_on.add(0)
    configs[1].scores[1] = 0.93
    assert promotable(configs, Rungs(1, 2)) == []  # 0.6 is the bottom half of two
    configs += [Config(2, {0: 0.1}), Config(3, {0: 0.2})]
    # four at rung 0: the top half is {1, 0}; 1 went on already, so 0 goes on now, from its checkpoint
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))] == [(0, 0)]


def test_goes_on_at_once_only_when_in_the_top_now():
    configs = _configs(0.9, 0.5)
    assert goes_on(configs, configs[0], Rungs(1, 2)) and not goes_on(configs, configs[1], Rungs(1, 2))
    configs[0].went_on.add(0)
    assert not goes_on(configs, configs[0], Rungs(1, 2))


def test_the_incumbent_is_the_best_of_the_highest_rung_even_when_a_shallower_score_is_higher():
    assert incumbent([]) is None and incumbent([Config(0)]) is None
    configs = _configs(0.99, 0.90)
    configs[1].scores[1] = 0.95  # deeper, lower than the lucky 0.99 at rung 0
    assert incumbent(configs).key == 1
    configs.append(Config(2, {0: 0.5, 1: 0.95}))
    assert incumbent(configs).key == 1  # a tie at the top rung: the earlier


def test_a_start_follows_the_deepest_rung_whatever_its_rank_and_before_any_promotion():
    # the first 1-hour ladder search: the augmented recipe, a slow starter, scored last at rung 0 and never went on
    configs = [Config(0, {0: 0.97}, start=True), Config(1, {0: 0.99}), Config(2, {0: 0.98}), Config(3, {0: 0.96})]
    configs[1].scores[1] = 0.992
    configs[1].went_on.add(0)
    configs[2].went_on.add(0)
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))] == [(0, 0)]  # the start first, then no one
    assert goes_on(configs, configs[0], Rungs(1, 2))  # and, scored at rung 0 again, it trains on without a pause
    configs[0].scores[1] = 0.95  # now at rung 1 with config 1: the deepest, so judged by rank like the others
    configs[0].went_on.add(0)
    assert not goes_on(configs, configs[0], Rungs(1, 2)) and [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))] == [(1, 1)]
    configs[1].scores[2] = 0.993  # the other went deeper: the start follows, ahead of anything else
    configs[1].went_on.add(1)
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))][0] == (1, 0)
    configs[0].running = True
    assert (1, 0) not in [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))]
    configs[0].running = False
    configs[0].went_on.add(1)  # its segment ended without the rung (too slow for the cap): not offered again
    assert (1, 0) not in [(k, c.key) for k, c in promotable(configs, Rungs(1, 2))]
    sampled = [Config(0, {0: 0.97}), *configs[1:]]  # the same scores for a sampled configuration: not promoted
    assert (0, 0) not in [(k, c.key) for k, c in promotable(sampled, Rungs(1, 2))]


def test_trailing_starts_alone_wait_and_then_follow_a_sampled_configuration():
    # the first 1-hour search with the ladder as default: recipe and seed notebook led each other up to 32 epochs
    # before a sampled configuration was tried
    starts = [Config(0, {0: 0.96}, start=True), Config(1, {0: 0.98}, start=True)]
    assert goes_on(starts, starts[1], Rungs(1, 2)) and [(k, c.key) for k, c in promotable(starts, Rungs(1, 2))] == [(0, 1)]
    assert not goes_on(starts, starts[1], Rungs(1, 2), rule="trail")
    assert promotable(starts, Rungs(1, 2), rule="trail") == []  # nothing to continue: sample
    configs = [*starts, Config(2, {0: 0.97}), Config(3, {0: 0.90})]
    # the top half of rung 0 is {1, 2}: the start 1 waits, the sampled 2 goes on
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2), rule="trail")] == [(0, 2)]
    configs[2].scores[1] = 0.985
    configs[2].went_on.add(0)
    # now both starts trail the deepest rung: the shallowest first (a tie: the earlier key), ahead of anything else
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2), rule="trail")] == [(0, 0), (0, 1)]
    assert goes_on(configs, configs[0], Rungs(1, 2), rule="trail")


def test_leading_starts_go_on_by_rank_but_follow_only_sampled_configurations():
    starts = [Config(0, {0: 0.96}, start=True), Config(1, {0: 0.98}, start=True)]
    assert goes_on(starts, starts[1], Rungs(1, 2), rule="lead")  # the better start goes on by its rank
    starts[1].scores[1] = 0.985
    starts[1].went_on.add(0)
    assert promotable(starts, Rungs(1, 2), rule="lead") == []  # the other does not chase it: sample
    assert [(k, c.key) for k, c in promotable(starts, Rungs(1, 2), rule="chase")] == [(0, 0)]
    configs = [*starts, Config(2, {0: 0.97, 1: 0.97}), Config(3, {0: 0.90})]
    configs[2].went_on.add(0)
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2), rule="lead")][0] == (0, 0)  # now it follows


def test_starts_ranked_like_any_configuration_never_follow_the_deepest_rung():
    # the rule before 2026-12-05 ("rank"; the replay's ladder-2-judged)
    configs = [Config(0, {0: 0.96}, start=True), Config(1, {0: 0.98}, start=True), Config(2, {0: 0.97, 1: 0.99}),
               Config(3, {0: 0.90})]
    configs[2].went_on.add(0)
    # the top half of rung 0 is {1, 2}: the better start goes on by its rank, the other stays behind
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2), rule="rank")] == [(0, 1)]
    assert not goes_on(configs, configs[0], Rungs(1, 2), rule="rank")
    assert [(k, c.key) for k, c in promotable(configs, Rungs(1, 2), rule="chase")][0] == (0, 0)  # chasing, it follows
