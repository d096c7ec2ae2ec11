"""Members on SQLite and PostgreSQL: the country they share (opt-in, changeable, removable, nothing
finer kept), the members map and its table, per-account limits on votes and flags, and deleting an
account with the posts removed or kept without the pseudonym."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from oncoguide.site import experiences
from oncoguide.site import questions as community
from oncoguide.site.db import experiences as experiences_table
from oncoguide.site.db import users
from oncoguide.web.worldmap import band, equal_earth, shown, world
from tests.conftest import ACCOUNT_PASSWORD, csrf_of, login
from tests.test_experiences import STORY, member, moderate, share, token_of


def set_country(client, code: str):
    return client.post(
        "/account/country", data={"country": code, "csrf": token_of(client, "/account")}, follow_redirects=False
    )


def map_table(page: str) -> dict[str, str]:
    body = page.split('<table class="map-table">', 1)[1].split("</table>", 1)[0]
    return {unescape(c): unescape(n) for c, n in re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td></tr>", body)}


def shading(page: str, title: str) -> str | None:
    """The band class of the map path whose tooltip starts with `title`."""
    m = re.search(r'<path class="(b\d)" fill="#[0-9a-f]{6}" d="[^"]+"><title>' + re.escape(title), page)
    return m.group(1) if m else None


def test_the_map_is_drawn_from_the_shipped_outlines():
    m = world()
    assert equal_earth(0, 0) == (0.0, 0.0)
    assert {"US", "BR", "FR", "IN", "AU", "ZA", "GB", "JP"} <= m.drawn
    assert "AQ" not in m.drawn and 150 < len(m.outlines) < 200
    for o in m.outlines:  # every path stays inside the view box
        x, y = map(int, re.match(r"M(-?\d+) (-?\d+)", o.path).groups())
        assert 0 <= x <= m.width and 0 <= y <= m.height, o.code


@pytest.mark.parametrize(
    "n, band_, text",
    [
        (0, 0, "0"),
        (1, 1, "fewer than 5"),
        (4, 1, "fewer than 5"),
        (5, 2, "5"),
        (19, 2, "19"),
        (20, 3, "20"),
        (1234, 4, "1,234"),
    ],
)
def test_small_counts_are_never_shown_exactly(n, band_, text):
    assert band(n) == band_ and shown(n) == text


def test_members_share_change_and_remove_their_country(site):
    accounts = site.app.state.site.accounts
    for i in range(5):
        accounts.add(f"fr.member{i}", f"Member {i}", "reader", ACCOUNT_PASSWORD)
        assert set_country(login(TestClient(site.app), f"fr.member{i}"), "FR").status_code == 303
    me = member(site)
    assert "Now: not shared" in me.get("/account").text  # opt-in: nothing until the member chooses
    assert set_country(me, "nz").status_code == 303
    assert "Now: New Zealand" in me.get("/account").text

    page = TestClient(site.app).get("/conditions/dfsp").text
    assert map_table(page) == {"France": "5", "New Zealand": "fewer than 5"}
    assert shading(page, "France: 5") == "b2" and shading(page, "New Zealand: fewer than 5") == "b1"
    assert '<path class="b0"' in page  # countries nobody shares are drawn unshaded

    assert set_country(me, "CA").status_code == 303  # changeable
    assert map_table(TestClient(site.app).get("/conditions/dfsp").text) == {"France": "5", "Canada": "fewer than 5"}
    assert set_country(me, "").status_code == 303  # removable
    assert map_table(TestClient(site.app).get("/conditions/dfsp").text) == {"France": "5"}
    with site.app.state.site.accounts.engine.connect() as conn:
        assert conn.execute(select(users.c.country).where(users.c.username == "reader1")).scalar() is None
    # only a country is kept: the users table has no column for anything finer
    columns = {c["name"] for c in inspect(site.app.state.site.accounts.engine).get_columns("users")}
    assert not columns & {"city", "town", "region", "address", "postcode", "latitude", "longitude", "ip"}


@pytest.mark.parametrize("code", ["XX", "France", "<script>", "F R"])
def test_unknown_countries_are_refused(site, code):
    me = member(site)
    r = set_country(me, code)
    assert r.status_code == 422 and "choose a country from the list" in r.text
    assert site.app.state.site.members.country_of(site.app.state.site.accounts.get("reader1")) is None


def test_joining_can_share_a_country(site):
    client = TestClient(site.app)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/join").text).group(1)
    r = client.post(
        "/join",
        data={
            "username": "kiwi.new",
            "display_name": "Kiwi",
            "password": "a fine long phrase",
            "country": "NZ",
            "csrf": token,
            "next": "/conditions/dfsp",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert site.app.state.site.accounts.get("kiwi.new").country == "NZ"
    other = TestClient(site.app)
    token = re.search(r'name="csrf" value="([^"]+)"', other.get("/join").text).group(1)
    bad = other.post(
        "/join",
        data={
            "username": "kiwi.two",
            "display_name": "Kiwi",
            "password": "a fine long phrase",
            "country": "Atlantis",
            "csrf": token,
        },
    )
    assert bad.status_code == 422 and site.app.state.site.accounts.get("kiwi.two") is None


def test_votes_are_limited_per_account(site, monkeypatch):
    monkeypatch.setattr(community, "VOTES_PER_DAY", 2)
    me = member(site)
    keys = [q.key for q in site.app.state.site.questions.top("dfsp")][:3]
    for key in keys[:2]:
        r = me.post("/conditions/dfsp/helpful", data={"key": key, "csrf": token_of(me)}, follow_redirects=False)
        assert r.status_code == 303
    r = me.post("/conditions/dfsp/helpful", data={"key": keys[2], "csrf": token_of(me)})
    assert r.status_code == 429 and "2 questions helpful a day" in r.text
    assert [q.helpful for q in site.app.state.site.questions.top("dfsp") if q.key == keys[2]] == [0]


def test_flags_are_limited_per_account(site, monkeypatch):
    monkeypatch.setattr(experiences, "FLAGS_PER_DAY", 1)
    author = member(site)
    share(author, STORY)
    moderate(site, "approve")
    share(author, STORY + " Another part.")
    moderate(site, "approve")
    first, second = (e.id for e in site.app.state.site.experiences.published("dfsp"))
    flagger = member(site, "contributor1")
    assert (
        flagger.post(f"/experiences/{first}/flag", data={"csrf": token_of(flagger)}, follow_redirects=False).status_code
        == 303
    )
    r = flagger.post(f"/experiences/{second}/flag", data={"csrf": token_of(flagger)})
    assert r.status_code == 429 and "report 1 posts a day" in r.text


def delete_account(client, posts: str, password: str = ACCOUNT_PASSWORD):
    return client.post(
        "/account/delete", data={"posts": posts, "password": password, "csrf": token_of(client, "/account")}
    )


@pytest.mark.parametrize("posts", ["remove", "anonymise"])
def test_deleting_an_account_removes_or_anonymises_its_posts(site, posts):
    me = member(site)
    set_country(me, "NZ")
    share(me, STORY)
    moderate(site, "approve")
    share(me, STORY + " Still waiting.")  # a pending post goes the same way as the published one
    r = delete_account(me, posts)
    assert r.status_code == 200 and "Your account is deleted" in r.text
    assert site.app.state.site.accounts.get("reader1") is None
    assert me.get("/account", follow_redirects=False).headers["location"].startswith("/login")  # signed out
    with pytest.raises(AssertionError):
        login(TestClient(site.app), "reader1")
    page = TestClient(site.app).get("/conditions/dfsp").text
    assert "Dr Reader" not in page and map_table(page) == {}
    with site.app.state.site.accounts.engine.connect() as conn:
        left = conn.execute(select(experiences_table.c.body)).scalars().all()
        row = conn.execute(select(users).where(users.c.username.like("deleted-%"))).one()
    assert row.display_name == "Former member" and row.country is None and row.deleted is not None
    if posts == "remove":
        assert left == [] and "The lump on my shoulder" not in page
    else:
        assert len(left) == 2 and "The lump on my shoulder" in page and "Former member" in page


def test_account_deletion_needs_the_password_and_a_choice(site):
    me = member(site)
    share(me, STORY)
    r = delete_account(me, "remove", password="not my password")
    assert r.status_code == 422 and "password is wrong" in r.text
    r = delete_account(me, "everything")
    assert r.status_code == 422 and "choose whether" in r.text
    assert (
        site.app.state.site.accounts.get("reader1") is not None
        and len(site.app.state.site.experiences.mine(site.app.state.site.accounts.get("reader1"))) == 1
    )


def test_editorial_accounts_cannot_delete_themselves(site):
    reviewer = member(site, "reviewer1")
    assert "ask an admin to disable it" in reviewer.get("/account").text
    r = delete_account(reviewer, "anonymise")
    assert r.status_code == 422 and site.app.state.site.accounts.get("reviewer1") is not None


def test_account_pages_need_a_signed_in_member_and_a_token(site):
    anon = TestClient(site.app)
    assert anon.get("/account", follow_redirects=False).headers["location"] == "/login?next=/account"
    r = anon.post("/account/country", data={"country": "FR", "csrf": csrf_of(anon)})
    assert r.status_code == 401
    me = member(site)
    assert me.post("/account/delete", data={"posts": "remove", "password": ACCOUNT_PASSWORD}).status_code == 403
    assert site.app.state.site.accounts.get("reader1") is not None


def test_hostile_strings_on_member_forms(kb_settings, tmp_path):
    """Every member form, signed in, with every hostile string: a clear 4xx, no traceback, nothing half-written."""
    from oncoguide.web.app import create_app
    from tests.test_web_bad_input import HOSTILE, clean

    settings = kb_settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'site.sqlite3'}"})
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        c.app.state.site.accounts.add("reader1", "Dr Reader", "reader", ACCOUNT_PASSWORD)
        me = login(c, "reader1")
        token = token_of(me, "/account")

        def post(path, **data):
            return me.post(path, data={**data, "csrf": token}, follow_redirects=False)

        for value in HOSTILE:
            clean(post("/account/country", country=value), allowed=(303, 422))
            clean(post("/account/delete", posts=value, password=value), allowed=(422,))
            clean(post("/account/delete", posts="remove", password=value), allowed=(422, 429))
            clean(post("/conditions/dfsp/experiences", body=STORY, question=value), allowed=(303, 422, 429))
            clean(me.get("/conditions/dfsp", params={"page": value}), allowed=(200, 422))
        assert c.app.state.site.accounts.get("reader1") is not None
        assert c.app.state.site.members.country_of(c.app.state.site.accounts.get("reader1")) is None
