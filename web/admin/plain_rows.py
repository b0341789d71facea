"""The plain rows the staff side's own templates read, made from the models by the view.

Templates see plain data, never an ORM object: a template can then reach nothing the view did
not choose to show (a team member's password hash, another shop through a relationship), and
rendering runs no query. Flask-Admin's generic model views are the exception the package
brings: they hand their list and form templates the rows themselves (docs/ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.formatting import shop_time
from domain.notices import DryRunHit
from models import BulkJob, Membership, ReviewStage, Shop


@dataclass(frozen=True)
class ShopChoice:
    """A shop as the staff pages name it: in a shop picker, a heading or a list."""

    id: int
    name: str
    slug: str

    @classmethod
    def of(cls, shop: Shop) -> ShopChoice:
        return cls(shop.id, shop.name, shop.slug)


def shop_choices(shops: Iterable[Shop]) -> list[ShopChoice]:
    return [ShopChoice.of(shop) for shop in shops]


@dataclass(frozen=True)
class TeamMember:
    """One membership on the Team page: who, with which role, and whether they have yet to
    accept their invitation."""

    membership_id: int
    role: str
    user_id: int
    name: str
    email: str
    invited: bool

    @classmethod
    def of(cls, membership: Membership) -> TeamMember:
        user = membership.user
        return cls(
            membership.id, membership.role, user.id, user.name, user.email, not user.password_hash
        )


def team_by_shop(
    shops: Iterable[Shop], members: Iterable[Membership]
) -> dict[int, list[TeamMember]]:
    """Each shop's members by shop id, in the order given."""
    by_shop: dict[int, list[TeamMember]] = {shop.id: [] for shop in shops}
    for membership in members:
        if membership.shop_id in by_shop:
            by_shop[membership.shop_id].append(TeamMember.of(membership))
    return by_shop


@dataclass(frozen=True)
class StageChoice:
    """A review stage to move requests to, named with its shop ("Demo Winkel: Inspection")."""

    id: int
    label: str


def stage_choices(stages: Iterable[ReviewStage], language: str) -> list[StageChoice]:
    return [StageChoice(s.id, f"{s.shop.name}: {s.name(language)}") for s in stages]


@dataclass(frozen=True)
class JobProgress:
    """How far a bulk job is: its status, requests done of the total, and an error if any."""

    status: str
    done: int
    total: int
    error: str | None

    @classmethod
    def of(cls, job: BulkJob) -> JobProgress:
        return cls(job.status, job.done, job.total, job.error)


@dataclass(frozen=True)
class DryRunRow:
    """A recent request a notice rule would flag, as the rule editor's dry run lists it."""

    request_id: int
    number: str
    created: str
    customer_name: str
    status: str
    action: str | None


def dry_run_rows(hits: Iterable[DryRunHit]) -> list[DryRunRow]:
    """The hits with each request's date on its shop's clock."""
    return [
        DryRunRow(
            hit.request.id,
            hit.request.number,
            shop_time(hit.request.created_at, hit.request.shop),
            hit.request.customer_name,
            hit.request.status,
            hit.action,
        )
        for hit in hits
    ]
