"""JSON API of the feedback pool (README, "JSON API"): the ranked pool and items for anyone, votes
from fans (confirmed by email), notes from engineers, moderation for staff."""
from flask import Blueprint, g, jsonify, request
from flask_babel import get_locale

from ..accounts.access import api_roles_required, public
from ..accounts.models import Role
from ..shared.forms import public_write
from ..shared.json_input import JsonBody, id_fields, text_fields
from ..shared.links import external_url
from ..shared.timeutil import isoformat
from ..shared.validation import MAX_ID
from . import services

bp = Blueprint("feedback_api", __name__, url_prefix="/api")
engineers = api_roles_required(Role.ENGINEER)  # and admins
moderators = api_roles_required(Role.ENGINEER, Role.PLANNER)
ITEM = f"/feedback/<int(max={MAX_ID}):item_id>"


@bp.route("/feedback")
@public
def pool():
    args = request.args
    items = services.pool(args.get("sort", "top"), category=args.get("category", ""), status=args.get("status", ""),
                          q=args.get("q", "")[:200])
    return jsonify({"sort": args.get("sort", "top"), "items": [_item_json(summary) for summary in items]})


@bp.route(ITEM)
@public
def item(item_id: int):
    found = services.get_item(item_id)
    body = _item_json(services.summarize([found])[0])
    body["notes"] = [{"id": note.id, "meetup_id": note.meetup_id, "question": note.question, "answer": note.answer,
                      "category": note.category, "created_at": isoformat(note.created_at)}
                     for note in services.notes_of(found)]
    return jsonify(body)


@bp.route("/feedback/suggestions")
@engineers
def suggestions():
    found = services.suggestions(request.args.get("q", "")[:2000])
    return jsonify({"items": [{**_item_json(summary), "relevance": round(summary.relevance, 3)} for summary in found]})


@bp.route(f"{ITEM}/votes", methods=["POST"])
@public_write
@public
def vote(item_id: int):
    """202: the vote counts once the fan opens the link emailed to them."""
    outcome = services.cast_vote(item_id, locale=str(get_locale() or "en"), **text_fields(("email",)))
    return jsonify({"status": outcome.status}), 202


@bp.route(f"/meetups/<int(max={MAX_ID}):meetup_id>/notes", methods=["POST"])
@engineers
def record_note(meetup_id: int):
    body = JsonBody()  # every bad field named at once, texts and numbers alike
    texts = body.texts(("question", "answer", "category", "title", "client_key"), required=("question",))
    numbers = body.numbers(("feedback_item_id", "asked_by_id"))
    body.done()
    outcome = services.record_note(meetup_id, g.api_user, **texts, **numbers)
    status = 200 if outcome.replayed else 201  # a note sent again answers as the first time, 200
    return jsonify({"note_id": outcome.note.id, "feedback_item_id": outcome.item.id,
                    "created_item": outcome.created_item}), status


@bp.route(f"{ITEM}/status", methods=["POST"])
@moderators
def change_status(item_id: int):
    texts = text_fields(("status", "shipped_in"), required=("status",))
    change = services.change_status(item_id, texts["status"], g.api_user, shipped_in=texts["shipped_in"])
    found = services.get_item(item_id)
    return jsonify({**_item_json(services.summarize([found])[0]), "changed": change is not None,
                    "notified": change.notified if change else 0})


@bp.route(f"{ITEM}/merge", methods=["POST"])
@moderators
def merge(item_id: int):
    into = id_fields(("into",), required=("into",))["into"]
    change = services.merge_items(item_id, into, g.api_user)
    survivor = services.get_item(change.merged_into_id)
    return jsonify({**_item_json(services.summarize([survivor])[0]), "merged_item_id": item_id,
                    "notified": change.notified})


def _item_json(summary: services.ItemSummary) -> dict:
    item = summary.item
    return {
        "id": item.id, "title": item.title, "description": item.description, "category": item.category,
        "status": item.status, "shipped_in": item.shipped_in, "merged_into": item.merged_into_id,
        "votes": summary.votes, "mentions": summary.mentions, "score": summary.top,
        "trending": round(summary.trending, 4), "meetups": summary.meetup_ids,
        "cities": [city.name for city in summary.cities], "created_at": isoformat(item.created_at),
        "url": external_url("feedback.item_page", item_id=item.id),
    }
