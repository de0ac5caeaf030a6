"""The operators' list order: status first, then recent activity, then names as people read them."""

from datetime import datetime, timedelta

from app.dashboard.order import Listed, arrange, natural_key

T0 = datetime(2025, 1, 1, 12, 0)


def names(people):
    return [p.name for p in people]


def test_numbers_in_names_sort_as_numbers():
    shuffled = ["Test User 10", "test user 2", "Test User 1", "Test User 11", "Test User 9"]
    assert sorted(shuffled, key=natural_key) == [
        "Test User 1", "test user 2", "Test User 9", "Test User 10", "Test User 11"]


def test_natural_keys_compare_names_that_start_with_digits_or_not():
    assert sorted(["b", "10a", "2a", "a"], key=natural_key) == ["2a", "10a", "a", "b"]


def test_online_come_first_then_away_then_offline_and_hidden_together():
    people = [Listed(1, "Off", "offline", None), Listed(2, "Hid", "hidden", None),
              Listed(3, "Away", "away", None), Listed(4, "On", "online", None)]
    assert names(arrange(people)) == ["On", "Away", "Hid", "Off"]


def test_within_a_status_the_most_recently_active_come_first_and_never_seen_last():
    people = [Listed(1, "Old", "offline", T0), Listed(2, "Never", "offline", None),
              Listed(3, "Recent", "offline", T0 + timedelta(minutes=5))]
    assert names(arrange(people)) == ["Recent", "Old", "Never"]


def test_people_equally_active_sort_by_name_naturally():
    people = [Listed(n, f"Test User {n}", "offline", None) for n in (10, 2, 1)]
    assert names(arrange(people)) == ["Test User 1", "Test User 2", "Test User 10"]


def test_a_filter_keeps_its_status_and_offline_keeps_hidden_people_too():
    people = [Listed(1, "A", "online", None), Listed(2, "B", "away", None),
              Listed(3, "C", "offline", None), Listed(4, "D", "hidden", None)]
    assert names(arrange(people, "online")) == ["A"]
    assert names(arrange(people, "away")) == ["B"]
    assert names(arrange(people, "offline")) == ["C", "D"]
    assert len(arrange(people, "")) == 4
