"""Members' experiences on SQLite and PostgreSQL: contact details masked and the author told, risky
posts held, nothing public before a moderator approves, flags, limits, and user text rendered inert."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from oncoguide.site.experiences import held_reason, mask_contacts
from tests.conftest import csrf_of, login

STORY = (
    "The lump on my shoulder grew slowly for six years before anyone took a biopsy.\n\n"
    "After Mohs surgery it healed well."
)


def token_of(client, path="/conditions/dfsp") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def share(client, body: str, slug: str = "dfsp"):
    return client.post(
        f"/conditions/{slug}/experiences", data={"body": body, "csrf": token_of(client)}, follow_redirects=False
    )


def member(site, name: str = "reader1") -> TestClient:
    return login(TestClient(site.app, raise_server_exceptions=False), name)


def moderate(site, decision: str, reason: str = "", who: str = "moderator1"):
    mod = member(site, who)
    page = mod.get("/moderation").text
    exp_id = re.search(r'action="/moderation/(\d+)"', page).group(1)
    return mod.post(
        f"/moderation/{exp_id}",
        data={"decision": decision, "reason": reason, "csrf": token_of(mod, "/moderation")},
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("write to jo.smith+dfsp@example.co.uk please", ["e-mail address"]),
        ("call me on +44 20 7946 0958", ["phone number"]),
        ("my number is (555) 123-4567", ["phone number"]),
        ("I live at 221 Baker Street near the park", ["street address"]),
        ("treated 2019-03-14, followed 1989-2016, 400 mg daily, stage 4, 5 cm", []),
    ],
)
def test_contact_details_are_masked(text, kinds):
    masked, found = mask_contacts(text)
    assert found == kinds
    assert ("removed]" in masked) == bool(kinds)


@pytest.mark.parametrize(
    "text, held",
    [
        ("I stopped taking imatinib after two months and feel fine", True),
        ("Honestly, skip the radiotherapy, it did nothing for me", True),
        ("A herbal tea cured my DFSP, I swear by it naturally", True),
        ("My oncologist lowered my imatinib dose because of swelling", False),
        ("Surgery left a long scar but I am glad I had it", False),
    ],
)
def test_posts_urging_to_stop_treatment_or_unproven_cures_are_held(text, held):
    assert (held_reason(text) is not None) == held


def test_post_waits_for_a_moderator_then_appears_masked_under_a_pseudonym(site):
    author = member(site)
    r = share(author, STORY + " Reach me at pat@example.com.")
    assert r.status_code == 303
    mine = author.get(r.headers["location"]).text
    assert "Your post is waiting for a moderator" in mine and "We removed: e-mail address" in mine
    reader = TestClient(site.app)
    assert "grew slowly for six years" not in reader.get("/conditions/dfsp").text
    assert moderate(site, "approve").status_code == 303
    page = reader.get("/conditions/dfsp").text
    assert "1 person has shared their experience" in page
    story = page.split('aria-label="Experience shared by Dr Reader"', 1)[1].split("</article>", 1)[0]
    assert "Personal story · Dr Reader" in story and "[e-mail removed]" in story
    assert "pat@example.com" not in page
    assert story.count("<p>") == 2  # two paragraphs, as written (the label is a <p class=...>)
    assert "Published" in author.get("/conditions/dfsp").text


def test_rejection_needs_a_reason_the_author_then_sees(site):
    author = member(site)
    share(author, "I stopped taking imatinib and my tumour melted away, trust me on this one.")
    mod_page = member(site, "moderator1").get("/moderation").text
    assert "Held:</strong> it talks about stopping or refusing treatment" in mod_page
    assert moderate(site, "reject").status_code == 422
    assert moderate(site, "reject", "Please talk with your team before stopping a drug.").status_code == 303
    page = author.get("/conditions/dfsp").text
    assert "Not published" in page and "Please talk with your team" in page


def test_who_may_post_and_moderate(site):
    anonymous = TestClient(site.app, raise_server_exceptions=False)
    r = anonymous.post("/conditions/dfsp/experiences", data={"body": STORY, "csrf": csrf_of(anonymous)})
    assert r.status_code == 401
    reader = member(site)
    assert reader.post("/conditions/dfsp/experiences", data={"body": STORY}).status_code == 403  # no CSRF
    share(reader, STORY)
    for who in ("reader1", "contributor1", "reviewer1"):
        client = member(site, who)
        assert client.get("/moderation").status_code == 403, who
        assert client.post("/moderation/1", data={"decision": "approve", "csrf": token_of(client)}).status_code == 403
    for who in ("moderator1", "editor1", "admin1"):
        assert member(site, who).get("/moderation").status_code == 200, who


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "the post is empty"),
        ("too short", "at least 20 characters"),
        ("x" * 5001, "the limit is 5,000"),
        ("see http://a.example and http://b.example and http://c.example for my story", "at most 2 links"),
    ],
)
def test_empty_oversized_and_link_heavy_posts_are_refused(site, body, message):
    r = share(member(site), body)
    assert r.status_code == 422 and message in r.text


def test_daily_post_limit(site):
    author = member(site)
    for i in range(5):
        assert share(author, f"{STORY} Part {i}.").status_code == 303
    r = share(author, STORY)
    assert r.status_code == 429 and "5 experiences a day" in r.text


def test_three_flags_send_a_post_back_to_the_moderators(site):
    share(member(site), STORY)
    moderate(site, "approve")
    exp_id = site.app.state.site.experiences.published("dfsp")[0].id
    for who in ("contributor1", "reviewer1"):
        client = member(site, who)
        assert (
            client.post(
                f"/experiences/{exp_id}/flag", data={"csrf": token_of(client)}, follow_redirects=False
            ).status_code
            == 303
        )
    again = member(site, "reviewer1")
    assert again.post(f"/experiences/{exp_id}/flag", data={"csrf": token_of(again)}).status_code == 409
    assert site.app.state.site.experiences.get(exp_id).status == "approved"
    third = member(site, "editor1")
    third.post(f"/experiences/{exp_id}/flag", data={"csrf": token_of(third)})
    post = site.app.state.site.experiences.get(exp_id)
    assert post.status == "pending" and post.held == "flagged by 3 readers"


# each would run script if it reached the page as markup; the browser test posts them all too
XSS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<iframe src=//evil.example></iframe>",
    "<body onload=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<input autofocus onfocus=alert(1)>",
    "'-alert(1)-'",
    "</textarea><script>alert(1)</script>",
    "<math><mtext><img src=x onerror=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "{{7*7}}{% raw %}{{config}}{% endraw %}",
    "<img src=x onerror=&#97;&#108;&#101;&#114;&#116;(1)>",
]


def test_posts_are_rendered_inert(site):
    share(member(site), "My story, with some markup in it: " + " ".join(XSS))
    moderate(site, "approve")
    page = TestClient(site.app).get("/conditions/dfsp").text
    for raw in (
        "<script>alert",
        "<img src=x",
        "<svg/onload",
        '<a href="javascript',
        "<iframe",
        "<details open",
        "<input autofocus",
        "<body onload",
        "<math>",
    ):
        assert raw not in page
    assert "&lt;script&gt;alert" in page
    assert "{{7*7}}" in page and "{{config}}" in page  # no template evaluation of user text


def test_stories_are_paged_newest_first_and_authors_counted_once(site):
    state = site.app.state
    moderator = state.site.accounts.get("moderator1")
    for a in range(5):
        author = state.site.accounts.add(f"author{a}", f"Author {a}", "reader", "long enough passphrase 42")
        for i in range(5):
            post = state.site.experiences.post(author, "dfsp", f"{STORY} Story number {a * 5 + i:02d}.")
            state.site.experiences.decide(post.id, moderator, approve=True)
    client = TestClient(site.app)
    first = client.get("/conditions/dfsp").text
    assert "5 people have shared their experience" in first and "Page 1 of 2 (25 stories)" in first
    assert first.count('class="story"') == 20 and "Story number 24." in first and "Story number 04." not in first
    second = client.get("/conditions/dfsp?page=2").text
    assert second.count('class="story"') == 5 and "Story number 00." in second and "Newer stories" in second
    assert client.get("/conditions/dfsp?page=0").status_code == 422
    assert client.get("/conditions/dfsp?page=abc").status_code == 422


def test_a_story_can_answer_one_of_the_top_questions(site):
    me = member(site)
    top = site.app.state.site.questions.top("dfsp")
    r = me.post(
        "/conditions/dfsp/experiences",
        data={"body": STORY, "question": top[0].key, "csrf": token_of(me)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    moderate(site, "approve")
    page = TestClient(site.app).get("/conditions/dfsp").text
    story = page.split('class="story"', 1)[1].split("</article>", 1)[0]
    assert f"on “{top[0].text}”".replace("'", "&#39;") in story
    gist_key = site.app.state.site.questions.top("gist")[0].key  # a question about another condition
    for key in (gist_key, "no-such-question"):
        r = me.post("/conditions/dfsp/experiences", data={"body": STORY, "question": key, "csrf": token_of(me)})
        assert r.status_code == 422 and "choose one of the listed questions" in r.text


def test_a_post_that_does_not_exist_is_404_for_moderators_and_readers(site):
    mod, reader = member(site, "moderator1"), member(site, "reader1")
    for decision in ("approve", "reject"):
        r = mod.post(
            "/moderation/987654", data={"decision": decision, "reason": "spam", "csrf": token_of(mod, "/moderation")}
        )
        assert r.status_code == 404 and "there is no post 987654" in r.text, r.text[:300]
    r = reader.post("/experiences/987654/flag", data={"csrf": token_of(reader)})
    assert r.status_code == 404
    # a post that exists but was already decided is still a conflict, not a missing post
    assert share(member(site), STORY).status_code == 303
    assert moderate(site, "approve").status_code == 303
    exp_id = site.app.state.site.experiences.published("dfsp")[0].id
    again = mod.post(
        f"/moderation/{exp_id}", data={"decision": "reject", "reason": "late", "csrf": token_of(mod, "/moderation")}
    )
    assert again.status_code == 409 and "no longer waiting" in again.text
