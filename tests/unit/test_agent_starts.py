"""What a join asks of mariadbd: its preferred state-transfer donors."""

from __future__ import annotations

import pytest

from galera.agent.starts import donor_option, donors
from galera.errors import InvalidInput


def test_a_join_names_its_preferred_donors_and_lets_any_other_serve() -> None:
    preferred = donors(["galera-0", "galera-2"])
    assert donor_option(preferred) == ["--wsrep-sst-donor=galera-0,galera-2,"]
    assert donor_option(donors([])) == []


@pytest.mark.parametrize("bad", ["galera-0", ["a,b"], ["x'; DROP"], [""], ["a"] * 17])
def test_donors_that_are_not_member_names_are_refused(bad: object) -> None:
    with pytest.raises(InvalidInput, match="donors: "):
        donors(bad)
