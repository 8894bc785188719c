"""cases.kernel.hooks.grouped: the listeners that follow one case at a time hear each
announcement at once; a grouped handler hears the group's announcements once, at its end, or
not at all if it failed."""

from types import SimpleNamespace

import pytest

from cases.kernel import hooks


@pytest.fixture
def heard(monkeypatch):
    monkeypatch.setattr(hooks, "_listeners", [])
    monkeypatch.setattr(hooks, "_group_handlers", {})
    log: list = []
    hooks.register(lambda a: log.append(("each", a)))
    hooks.register(lambda a: log.append(("single", a)), grouped=lambda g: log.append(("group", g)))
    return log


def announcement(name: str):
    # announce reads nothing of it: a stand-in is enough.
    return SimpleNamespace(name=name)


def test_outside_a_group_every_listener_hears_each_announcement(heard):
    first = announcement("a")
    hooks.announce(first)
    assert heard == [("each", first), ("single", first)]


def test_a_group_hands_its_announcements_once_at_its_end(heard):
    first, second = announcement("a"), announcement("b")
    with hooks.grouped():
        hooks.announce(first)
        with hooks.grouped():  # joins the open group
            hooks.announce(second)
        assert heard == [("each", first), ("each", second)]
    assert heard[2:] == [("group", [first, second])]


def test_a_failed_group_hands_nothing(heard):
    with pytest.raises(RuntimeError), hooks.grouped():
        hooks.announce(announcement("a"))
        raise RuntimeError
    assert [kind for kind, _ in heard] == ["each"]
    hooks.announce(second := announcement("b"))  # the group is closed
    assert heard[-1] == ("single", second)


def test_an_empty_group_hands_nothing(heard):
    with hooks.grouped():
        pass
    assert heard == []


def test_replaced_listeners_alone_hear_and_the_others_come_back(heard):
    inside, outside = announcement("inside"), announcement("outside")
    replacement: list = []
    with hooks.listeners_replaced([replacement.append]):
        hooks.announce(inside)
    hooks.announce(outside)
    assert replacement == [inside]
    assert heard == [("each", outside), ("single", outside)]


def test_replaced_listeners_come_back_when_the_block_raises(heard):
    with pytest.raises(RuntimeError), hooks.listeners_replaced([]):
        raise RuntimeError
    hooks.announce(first := announcement("after"))
    assert heard == [("each", first), ("single", first)]
