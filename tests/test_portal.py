"""The customer's return portal, step by step, through the Flask test client."""

from __future__ import annotations

import io
import re
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from domain import notices, submission
from extensions import db
from factories import make_order, make_question, make_shop, make_user
from harness import AuthActions, client_at
from models import Attachment, AuditEvent, Notice, OutboundEmail, ReturnRequest, utcnow
from portal_helpers import (
    PORTAL_ORDER,
    at_details,
    choose,
    choose_resolution,
    fill_until_review,
    give_details,
    image_bytes,
    jpeg_bytes,
    lookup,
    stored_files,
    submission_key,
    submit,
)

NEUTRAL = b"We could not find an order with these details"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

# The shop has the example notice a new shop gets (a free exchange), which submissions here
# raise; its €5.95 return fee shows on the review page.
pytestmark = pytest.mark.shop(return_fee_cents=595, prepare=notices.seed_default_rules)


@pytest.fixture
def client(client):
    """A customer whose browser asks for English, unless a test says otherwise."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def requests_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ReturnRequest))


# --- the whole way through ---------------------------------------------------------------------


def test_customer_submits_a_return_and_customer_and_staff_are_emailed(
    client, order, reasons, shop, smtp_sink
):
    make_user("opted-in@example.com", shop, notify_new_requests=True)
    make_user("quiet@example.com", shop)
    db.session.commit()
    blouse = order.lines[0]
    fill_until_review(client, order, reasons, {blouse.id: 2})
    response = submit(client, submission_key(client))

    request = db.session.scalar(select(ReturnRequest))
    assert response.status_code == 302
    assert response.location.endswith(f"/returns/demo/status/{request.public_token}")
    assert request.status == "new"
    assert request.number.startswith("R-")
    assert (request.order_number, request.customer_email) == ("1001", "klant@example.com")
    assert (request.item_count, request.total_cents) == (2, 2 * 4995)
    assert [(line.order_line_id, line.quantity) for line in request.lines] == [(blouse.id, 2)]
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.to_status, event.request_id) == ("submitted", "new", request.id)
    confirmation = smtp_sink.to("klant@example.com")
    assert len(confirmation) == 1
    assert request.public_token in confirmation[0].get_body(("plain",)).get_content()
    assert len(smtp_sink.to("returns@demo.example.com")) == 1
    assert len(smtp_sink.to("opted-in@example.com")) == 1
    assert smtp_sink.to("quiet@example.com") == []


def test_status_page_shows_number_items_and_what_happens_next(client, order, reasons):
    fill_until_review(client, order, reasons)
    response = submit(client, submission_key(client))
    page = client.get(response.location, headers={"Accept-Language": "en"})
    request = db.session.scalar(select(ReturnRequest))
    assert page.status_code == 200
    assert request.number.encode() in page.data
    assert b"Linnen blouse" in page.data
    assert b"Received" in page.data
    assert b"The shop will review it soon" in page.data


def test_double_submission_creates_one_request(client, order, reasons):
    fill_until_review(client, order, reasons)
    key = submission_key(client)
    first = submit(client, key)
    second = submit(client, key)
    assert requests_count() == 1
    assert second.status_code == 302
    assert second.location == first.location


# --- step 1: finding the order ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "secret"),
    [
        ("1001", "someone-else@example.com"),
        ("1001", "9999 ZZ"),
        ("9999", "klant@example.com"),
    ],
)
def test_wrong_combination_gets_one_neutral_message(client, order, number, secret):
    response = lookup(client, number, secret)
    assert response.status_code == 200
    assert NEUTRAL in response.data
    assert b"Linnen blouse" not in response.data


@pytest.mark.parametrize("secret", ["KLANT@example.com ", "1234ab", "1234 AB"])
def test_order_is_found_by_email_or_postcode(client, order, secret):
    response = lookup(client, "#1001", secret)
    assert response.status_code == 302
    assert b"Linnen blouse" in client.get("/returns/demo/items").data


def test_empty_lookup_fields_get_errors_next_to_them_and_keep_what_was_typed(client, order):
    response = lookup(client, "1001", "")
    assert b"Please enter your email address or postcode." in response.data
    assert b'value="1001"' in response.data


def test_order_of_another_shop_is_not_found_in_this_portal(client, app):
    other = make_shop("other", "Andere Winkel")
    make_shop()
    make_order(other, **PORTAL_ORDER)
    db.session.commit()
    assert NEUTRAL in lookup(client).data


def test_status_page_is_not_found_under_another_shop(client, order, reasons):
    make_shop("other", "Andere Winkel")
    db.session.commit()
    fill_until_review(client, order, reasons)
    submit(client, submission_key(client))
    token = db.session.scalar(select(ReturnRequest.public_token))
    assert client.get(f"/returns/demo/status/{token}").status_code == 200
    assert client.get(f"/returns/other/status/{token}").status_code == 404
    assert client.get("/returns/demo/status/not-a-token").status_code == 404


def test_unknown_shop_is_not_found(client, app):
    assert client.get("/returns/nope/").status_code == 404


def test_failed_lookups_are_limited_per_order_number(client, order):
    for _attempt in range(5):
        assert lookup(client, "1001", "wrong@example.com").status_code == 200
    limited = lookup(client, "1001", "klant@example.com", lang="en")
    assert limited.status_code == 429
    assert b"Please try again in 15 minutes." in limited.data
    assert lookup(client, "1002", "wrong@example.com").status_code == 200


def test_failed_lookups_are_limited_per_ip(client, order):
    for attempt in range(20):
        assert lookup(client, f"9{attempt:03d}", "x@example.com").status_code == 200
    assert lookup(client, "1001", "klant@example.com").status_code == 429


def test_a_stranger_guessing_cannot_lock_the_customer_out_of_their_order(app, client, order):
    stranger = client_at(app, "203.0.113.7")

    answers = [lookup(stranger, "1001", f"guess{n}@example.com").status_code for n in range(10)]

    assert answers == [200] * 5 + [429] * 5
    customer = client_at(app, "198.51.100.23")
    assert lookup(customer).status_code == 302
    assert lookup(stranger).status_code == 429


def test_guessing_from_many_addresses_slows_the_order_down_for_seconds_not_a_lock(app, order):
    for attempt in range(1, 60):
        refused = lookup(client_at(app, f"203.0.113.{attempt}"), "1001", "guess@example.com")
        if refused.status_code == 429:
            break
    assert attempt > 10, "the first ten failures from anywhere are not slowed down"
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert wait < 60 and b" second" in refused.data and b"minute" not in refused.data

    time.sleep(wait + 1)

    assert lookup(client_at(app, "198.51.100.23")).status_code == 302


def test_throttled_lookups_answer_the_same_whether_or_not_the_order_exists(app, order):
    def answers(number: str, address: str) -> list[tuple[int, str]]:
        stranger = client_at(app, address)
        responses = [lookup(stranger, number, "x@example.com") for _ in range(7)]
        return [(r.status_code, without_csrf_token(r.text).replace(number, "N")) for r in responses]

    assert answers("1001", "203.0.113.7") == answers("999999", "203.0.113.8")


def without_csrf_token(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', "", page)


def test_successful_lookups_do_not_count_against_the_limit(client, order):
    for _attempt in range(8):
        assert lookup(client).status_code == 302


# --- step 2: choosing items ---------------------------------------------------------------------


def test_quantity_over_what_is_returnable_is_refused_next_to_the_line(client, order):
    lookup(client)
    blouse = order.lines[0]
    response = choose(client, {blouse.id: 3})
    assert response.status_code == 200
    assert b"You can return at most 2 of this item." in response.data
    assert b'value="3"' in response.data


@pytest.mark.parametrize("quantity", ["0", "-1", "two"])
def test_quantity_must_be_a_positive_number(client, order, quantity):
    lookup(client)
    line = order.lines[0]
    response = client.post(
        "/returns/demo/items", data={f"line-{line.id}": "1", f"qty-{line.id}": quantity}
    )
    assert b"Please enter a quantity of at least 1." in response.data


def test_choosing_no_item_is_refused(client, order):
    lookup(client)
    response = client.post("/returns/demo/items", data={})
    assert b"Please choose at least one item to return." in response.data


def test_units_claimed_by_a_first_request_cannot_be_returned_again(client, order, reasons):
    blouse = order.lines[0]
    fill_until_review(client, order, reasons, {blouse.id: 1})
    submit(client, submission_key(client))
    lookup(client)
    assert b"Quantity (at most 1)" in client.get("/returns/demo/items").data
    assert b"You can return at most 1 of this item." in choose(client, {blouse.id: 2}).data
    assert choose(client, {blouse.id: 1}).status_code == 302
    give_details(client, [blouse.id], reasons["too_big"])
    choose_resolution(client)
    submit(client, submission_key(client))
    lookup(client)
    page = client.get("/returns/demo/items")
    assert b"Already in your return request R-" in page.data
    assert requests_count() == 2
    assert (
        sum(line.quantity for r in db.session.scalars(select(ReturnRequest)) for line in r.lines)
        == 2
    )


def test_submission_refuses_units_claimed_since_the_customer_chose_them(client, order, reasons):
    blouse = order.lines[0]
    fill_until_review(client, order, reasons, {blouse.id: 2})
    key = submission_key(client)
    other = app_client(client)
    fill_until_review(other, order, reasons, {blouse.id: 1})
    submit(other, submission_key(other))
    response = submit(client, key)
    assert response.location.endswith("/returns/demo/items")
    assert requests_count() == 1


def app_client(client):
    return client.application.test_client()


def test_lines_past_the_return_window_are_shown_disabled_with_the_closing_date(client, shop):
    make_order(shop, **PORTAL_ORDER, delivered_days_ago=40)
    db.session.commit()
    lookup(client, lang="en")
    page = client.get("/returns/demo/items")
    assert b"The return period for this item closed on" in page.data
    assert page.data.count(b"disabled") >= 2
    line_id = db.session.scalar(select(ReturnRequest.id))  # no request exists
    assert line_id is None
    first_line = re.search(rb'id="line-(\d+)"', page.data).group(1).decode()
    response = client.post(
        "/returns/demo/items", data={f"line-{first_line}": "1", f"qty-{first_line}": "1"}
    )
    assert b"This item can no longer be returned." in response.data


def test_an_order_not_yet_delivered_cannot_be_returned(client, shop):
    make_order(shop, **PORTAL_ORDER, delivered_days_ago=None)
    db.session.commit()
    lookup(client)
    page = client.get("/returns/demo/items", headers={"Accept-Language": "en"})
    assert b"has not been delivered yet" in page.data
    assert b'name="qty-' not in page.data


# --- step 3: reason, comment and photos ---------------------------------------------------------


def test_reason_is_required(client, order, reasons):
    line_id = at_details(client, order)
    response = client.post("/returns/demo/details", data={f"comment-{line_id}": "Te krap"})
    assert b"Please choose a reason." in response.data
    assert b"Te krap" in response.data


def test_reason_needing_photo_and_comment_asks_for_both(client, order, reasons):
    line_id = at_details(client, order)
    response = give_details(client, [line_id], reasons["damaged"])
    assert b"Please tell us more about this reason." in response.data
    assert b"Please add at least one photo for this reason." in response.data


def test_photo_that_is_really_a_text_file_is_refused_without_storing(app, client, order, reasons):
    line_id = at_details(client, order)
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [("foto.jpg", b"just some text")]
    )
    assert "“foto.jpg” is not a JPEG, PNG, WebP or HEIC photo.".encode() in response.data
    assert b"Kapot" in response.data
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored_files(app) == []


def test_photo_larger_than_10_mb_is_refused_without_storing(app, client, order, reasons):
    line_id = at_details(client, order)
    huge = jpeg_bytes() + b"\0" * (10 * 1024 * 1024)
    response = give_details(client, [line_id], reasons["damaged"], "Kapot", [("big.jpg", huge)])
    assert "“big.jpg” is larger than 10 MB.".encode() in response.data
    assert stored_files(app) == []


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("photo.png", image_bytes("PNG"), "image/png"),
        ("photo.webp", image_bytes("WEBP"), "image/webp"),
        ("IMG_0001.HEIC", image_bytes("HEIF"), "image/heic"),
        ("named-wrongly.txt", jpeg_bytes(), "image/jpeg"),
    ],
)
def test_photos_are_judged_by_their_content(client, order, reasons, name, data, content_type):
    line_id = at_details(client, order)
    response = give_details(client, [line_id], reasons["damaged"], "Kapot", [(name, data)])
    assert response.status_code == 302
    assert db.session.scalar(select(Attachment.content_type)) == content_type


def test_at_most_five_photos_per_item(client, order, reasons):
    line_id = at_details(client, order)
    photos = [(f"p{i}.jpg", jpeg_bytes()) for i in range(6)]
    response = give_details(client, [line_id], reasons["damaged"], "Kapot", photos)
    assert b"At most 5 photos per item." in response.data
    assert db.session.scalar(select(func.count()).select_from(Attachment)) == 5


def test_accepted_photos_are_kept_and_linked_to_the_request_line(client, order, reasons):
    line_id = at_details(client, order)
    first = give_details(client, [line_id], reasons["damaged"], "", [("good.jpg", jpeg_bytes())])
    assert b"Please tell us more about this reason." in first.data
    assert b"good.jpg" in first.data
    assert give_details(client, [line_id], reasons["damaged"], "Kapot").status_code == 302
    choose_resolution(client)
    submit(client, submission_key(client))
    photo = db.session.scalar(select(Attachment))
    line = db.session.scalar(select(ReturnRequest)).lines[0]
    assert (photo.request_line_id, photo.content_type) == (line.id, "image/jpeg")


def test_photos_of_abandoned_drafts_are_removed_by_the_sweeper(app, order, reasons, runner):
    def upload_photo(client) -> Attachment:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        line_id = at_details(client, order)
        give_details(client, [line_id], reasons["damaged"], "Kapot", [("p.jpg", jpeg_bytes())])
        return db.session.scalars(select(Attachment).order_by(Attachment.id.desc())).first()

    submitted_client = app.test_client()
    submitted = upload_photo(submitted_client)
    choose_resolution(submitted_client)
    submit(submitted_client, submission_key(submitted_client))
    abandoned = upload_photo(app.test_client())
    in_progress = upload_photo(app.test_client())
    for photo in (submitted, abandoned):
        photo.created_at = utcnow() - timedelta(days=3)
    db.session.commit()
    kept_files = {submitted.storage_key, in_progress.storage_key}

    result = runner.invoke(args=["outbox", "sweep"])

    assert "1 abandoned draft uploads removed" in result.output
    remaining = db.session.scalars(select(Attachment.storage_key)).all()
    assert set(remaining) == kept_files
    assert {path.name for path in stored_files(app)} == kept_files


# --- step 4: the shop's questions ---------------------------------------------------------------


def test_required_questions_must_be_answered(client, order, reasons, shop):
    text = make_question(shop, "text")
    choice = make_question(shop, "choice", choices="Winkel\nOnline", label_en="Where?")
    yes_no = make_question(shop, "yes_no", label_en="Worn?")
    upload = make_question(shop, "file", label_en="Receipt")
    db.session.commit()
    line_id = at_details(client, order)
    assert give_details(client, [line_id], reasons["too_big"]).location.endswith("/questions")
    response = client.post(
        "/returns/demo/questions",
        data={f"q-{text.id}": "Nee", f"q-{choice.id}": "Elders", f"q-{yes_no.id}": "maybe"},
    )
    assert response.data.count(b"Please answer this question.") == 2
    assert b"Please add a file." in response.data
    assert b"Nee" in response.data
    assert client.get("/returns/demo/resolution").location.endswith("/questions")
    response = client.post(
        "/returns/demo/questions",
        data={
            f"q-{text.id}": "Nee",
            f"q-{choice.id}": "Online",
            f"q-{yes_no.id}": "no",
            f"q-{upload.id}": (io.BytesIO(b"%PDF-1.4\n%\xe2\xe3\n"), "bon.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    choose_resolution(client)
    submit(client, submission_key(client))
    request = db.session.scalar(select(ReturnRequest))
    assert request.answers[str(choice.id)]["value"] == "Online"
    assert request.answers[str(upload.id)]["value"] == "bon.pdf"
    assert db.session.scalar(select(Attachment)).request_id == request.id


# --- step 5 and 6: resolution and review --------------------------------------------------------


def at_resolution(client, order, reasons):
    line_id = at_details(client, order)
    give_details(client, [line_id], reasons["too_big"])


@pytest.mark.parametrize(
    ("resolution", "note", "error"),
    [
        ("", "", b"Please choose what you would like instead."),
        ("teleport", "", b"Please choose what you would like instead."),
        ("exchange", "", b"Please tell us which size or colour you would like."),
    ],
)
def test_resolution_is_validated(client, order, reasons, resolution, note, error):
    at_resolution(client, order, reasons)
    assert error in choose_resolution(client, resolution, note).data


def test_resolution_not_offered_by_the_shop_is_refused(client, order, reasons, shop):
    shop.offered_resolutions = "refund"
    db.session.commit()
    at_resolution(client, order, reasons)
    assert (
        b"Please choose what you would like instead."
        in choose_resolution(client, "store_credit").data
    )
    assert b"Store credit" not in client.get("/returns/demo/resolution").data


def test_review_shows_the_fee_or_free_shipping(client, order, reasons):
    at_resolution(client, order, reasons)
    choose_resolution(client, "refund")
    assert "€\xa05,95".encode() in client.get("/returns/demo/review?lang=nl").data
    choose_resolution(client, "exchange", "Maat L")
    assert b"Free" in client.get("/returns/demo/review?lang=en").data


def test_free_exchange_raises_the_shops_default_notice(client, order, reasons):
    fill_until_review(client, order, reasons, resolution="exchange", note="Maat L")
    submit(client, submission_key(client))
    request = db.session.scalar(select(ReturnRequest))
    notice = db.session.scalar(select(Notice))
    assert request.free_shipping is True
    assert request.exchange_note == "Maat L"
    assert (notice.request_id, notice.severity, request.notice_count) == (request.id, "info", 1)
    assert "free exchange" in notice.text_en
    assert "gratis" in notice.text_nl


def test_refund_raises_no_notice_and_pays_shipping(client, order, reasons):
    fill_until_review(client, order, reasons, resolution="refund")
    submit(client, submission_key(client))
    assert db.session.scalar(select(ReturnRequest)).free_shipping is False
    assert db.session.scalar(select(func.count()).select_from(Notice)) == 0


def test_steps_cannot_be_skipped(client, order):
    assert client.get("/returns/demo/items").location.endswith("/returns/demo/")
    lookup(client)
    assert client.get("/returns/demo/details").location.endswith("/items")
    assert client.get("/returns/demo/review").location.endswith("/items")


def test_changing_the_items_again_asks_for_their_details_again(client, order, reasons):
    fill_until_review(client, order, reasons)
    assert choose(client, {line.id: 1 for line in order.lines}).status_code == 302
    assert client.get("/returns/demo/review").location.endswith("/details")
    assert client.get("/returns/demo/resolution").location.endswith("/details")


# --- language -----------------------------------------------------------------------------------


def test_portal_follows_accept_language_and_the_visible_switch(client, shop):
    page = client.get("/returns/demo/", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert b'<html lang="nl">' in page.data
    assert b'href="/returns/demo/?lang=en"' in page.data
    withdraw = client.get("/returns/demo/?intent=withdraw")
    assert b'href="/returns/demo/?intent=withdraw&amp;lang=nl"' in withdraw.data
    switched = client.get("/returns/demo/?lang=en", headers={"Accept-Language": "nl"})
    assert b'<html lang="en">' in switched.data
    later = client.get("/returns/demo/", headers={"Accept-Language": "nl"})
    assert b'<html lang="en">' in later.data


def test_staff_are_notified_in_their_own_language(client, order, reasons, shop):
    make_user("english-agent@example.com", shop, notify_new_requests=True, language="en")
    db.session.commit()
    client.get("/returns/demo/?lang=nl")
    fill_until_review(client, order, reasons)
    submit(client, submission_key(client))
    rows = db.session.execute(select(OutboundEmail.to_address, OutboundEmail.language)).all()
    languages = {address: language for address, language in rows}
    assert languages == {
        "klant@example.com": "nl",
        "returns@demo.example.com": "nl",
        "english-agent@example.com": "en",
    }


def test_request_remembers_the_customers_language(client, order, reasons):
    client.get("/returns/demo/?lang=en")
    fill_until_review(client, order, reasons)
    submit(client, submission_key(client))
    assert db.session.scalar(select(ReturnRequest.language)) == "en"
    email = db.session.scalar(
        select(OutboundEmail).where(OutboundEmail.to_address == "klant@example.com")
    )
    assert email.language == "en"


def test_shop_settings_show_in_the_portal_at_once(client, shop):
    shop.name = "Zomer Mode"
    shop.brand_color = "#ff6600"
    shop.logo_url = "https://cdn.example.com/logo.png"
    db.session.commit()
    page = client.get("/returns/demo/")
    assert b"--brand: #ff6600" in page.data
    assert b'src="https://cdn.example.com/logo.png" alt="Zomer Mode"' in page.data


# --- the EU withdrawal function -----------------------------------------------------------------


def withdraw_key(client) -> str:
    page = client.get("/returns/demo/withdraw")
    return re.search(rb'name="submission_key" value="([^"]+)"', page.data).group(1).decode()


def test_withdrawal_is_confirmed_and_acknowledged_by_email_at_once(client, order, smtp_sink):
    lookup(client, intent="withdraw")
    key = withdraw_key(client)
    data = {"submission_key": key, **{f"line-{line.id}": "1" for line in order.lines}}
    response = client.post("/returns/demo/withdraw", data=data)
    request = db.session.scalar(select(ReturnRequest))
    assert response.location.endswith(f"/status/{request.public_token}")
    assert request.is_withdrawal is True
    assert request.item_count == 3
    assert db.session.scalar(select(AuditEvent.action)) == "withdrawal"
    acknowledgement = smtp_sink.to("klant@example.com")[0].get_body(("plain",)).get_content()
    created = submission.aware(request.created_at)
    in_amsterdam = created.astimezone(AMSTERDAM)
    assert in_amsterdam.strftime("%d-%m-%Y %H:%M %Z") in acknowledgement, "in the shop's zone"
    deadline = submission.withdrawal_refund_deadline(request)
    assert deadline - created == timedelta(days=14)
    staff = smtp_sink.to("returns@demo.example.com")[0].get_body(("plain",)).get_content()
    assert deadline.astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M %Z") in staff
    assert client.post("/returns/demo/withdraw", data=data).location == response.location
    assert requests_count() == 1


def test_staff_see_the_refund_deadline_of_a_withdrawal(app, client, order, shop):
    make_user("agent@example.com", shop)
    db.session.commit()
    lookup(client)
    data = {"submission_key": withdraw_key(client), f"line-{order.lines[0].id}": "1"}
    client.post("/returns/demo/withdraw", data=data)
    request = db.session.scalar(select(ReturnRequest))
    staff = app.test_client()
    staff.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    AuthActions(staff).login("agent@example.com")
    page = staff.get(f"/admin/requests/{request.id}")
    deadline = submission.withdrawal_refund_deadline(request)
    assert b"refund at the latest on" in page.data
    assert format_date(deadline, "long", locale="en").encode() in page.data


def test_withdrawal_is_possible_before_delivery(client, shop):
    make_order(shop, **PORTAL_ORDER, delivered_days_ago=None)
    db.session.commit()
    lookup(client, intent="withdraw")
    assert b"Confirm withdrawal" in client.get("/returns/demo/withdraw?lang=en").data


def test_withdrawal_is_refused_after_the_withdrawal_period(client, shop):
    make_order(shop, **PORTAL_ORDER, delivered_days_ago=20)
    db.session.commit()
    lookup(client)
    page = client.get("/returns/demo/withdraw?lang=en")
    assert b"The withdrawal period for this order has ended." in page.data
    assert b"Confirm withdrawal" not in page.data


def test_ordinary_request_has_no_refund_deadline(client, order, reasons):
    fill_until_review(client, order, reasons)
    submit(client, submission_key(client))
    assert submission.withdrawal_refund_deadline(db.session.scalar(select(ReturnRequest))) is None


# --- forms and limits ---------------------------------------------------------------------------


def csrf_token_of(page) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', page.data).group(1).decode()


def test_portal_forms_carry_a_csrf_token_and_refuse_a_post_without_one(app, client, order):
    app.config["WTF_CSRF_ENABLED"] = True
    refused = lookup(client)
    assert refused.status_code == 302
    assert refused.location.endswith("/returns/demo/")
    assert b"Please fill it in again." in client.get("/returns/demo/").data
    token = csrf_token_of(client.get("/returns/demo/"))
    assert lookup(client, csrf_token=token).location.endswith("/items")
    items = client.get("/returns/demo/items")
    line = order.lines[0]
    response = client.post(
        "/returns/demo/items",
        data={"csrf_token": csrf_token_of(items), f"line-{line.id}": "1", f"qty-{line.id}": "1"},
    )
    assert response.location.endswith("/details")


def test_uploads_too_large_together_get_a_friendly_page(app, client, order, reasons):
    line_id = at_details(client, order)
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = give_details(
        client, [line_id], reasons["damaged"], "Kapot", [("big.jpg", b"x" * 60_000)]
    )
    assert response.status_code == 413
    assert b"The files you sent are too large together." in response.data


def test_order_number_is_found_whatever_the_case(client, shop):
    make_order(shop, **PORTAL_ORDER | {"number": "WEB-1001"})
    db.session.commit()
    assert lookup(client, "web-1001").status_code == 302
