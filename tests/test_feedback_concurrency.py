"""Votes racing each other through a real threaded server: one fan, one vote, one email."""
import json
import threading
import urllib.request

from sqlalchemy import func, select

from meetups.extensions import db
from meetups.feedback.models import FeedbackVote, FeedbackVoter

from .conftest import mails_to, note

VOTES_AT_ONCE = 12


def _vote(url: str, answers: list, start: threading.Barrier) -> None:
    request = urllib.request.Request(url, data=json.dumps({"email": "fan@example.com"}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    start.wait()
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            answers.append((answer.status, json.load(answer)["status"]))
    except urllib.error.HTTPError as error:
        answers.append((error.code, error.read().decode()))


def test_one_fan_voting_many_times_at_once_gets_one_vote_and_one_email(app, live_server, meetup, engineer):
    item = note(meetup, engineer).item
    db.session.commit()
    answers: list = []
    start = threading.Barrier(VOTES_AT_ONCE)
    threads = [threading.Thread(target=_vote, args=(f"{live_server}/api/feedback/{item.id}/votes", answers, start))
               for _number in range(VOTES_AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == VOTES_AT_ONCE
    assert {status for status, _body in answers} == {202}, answers
    assert sorted(body for _status, body in answers) == ["confirmation_sent"] + ["recently_sent"] * (VOTES_AT_ONCE - 1)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(FeedbackVoter)) == 1
    assert db.session.scalar(select(func.count()).select_from(FeedbackVote)) == 1
    assert len(mails_to(app, "fan@example.com")) == 1

