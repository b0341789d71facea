"""The "Team" admin page: a shop admin invites colleagues, changes roles, removes members.

Admins see the shops they administer, support sees every shop, agents get 403.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_admin import BaseView, expose
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from domain import team
from web.admin.base import StaffOnly, visible_shops
from web.admin.plain_rows import shop_choices, team_by_shop
from web.staff_forms import ROLE_LABELS, ChangeRoleForm, InviteForm, RemoveMemberForm


class TeamView(StaffOnly, BaseView):
    def is_accessible(self) -> bool:
        # The shops the menu's other checks looked up already (the same as administered_shops).
        return super().is_accessible() and bool(visible_shops("admin"))

    def invite_form(self, shops) -> InviteForm:
        form = InviteForm()
        form.shop_id.choices = [SelectChoice(shop.id, shop.name) for shop in shops]
        return form

    def page(self, invite_form=None, row_errors=None):
        shops = team.administered_shops(current_user)
        members = team.members_of(shops)
        return self.render(
            "admin/team.html",
            shops=shop_choices(shops),
            members_by_shop=team_by_shop(shops, members),
            invite_form=invite_form or self.invite_form(shops),
            role_form=ChangeRoleForm,
            remove_form=RemoveMemberForm,
            row_errors=row_errors or {},
            role_labels=ROLE_LABELS,
        )

    @expose("/")
    def index(self):
        return self.page()

    @expose("/invite", methods=["POST"])
    def invite(self):
        shops = team.administered_shops(current_user)
        form = self.invite_form(shops)
        if not form.validate():
            return self.page(invite_form=form)
        shop = next(s for s in shops if s.id == form.shop_id.data)
        try:
            user = team.invite(current_user, shop, form.email.data, form.role.data, form.name.data)
        except team.TeamError as error:
            getattr(form, error.field).errors.append(error.message)
            return self.page(invite_form=form)
        flash(_("Invitation sent to %(email)s.", email=user.email), "success")
        return redirect(url_for(".index"))

    @expose("/role", methods=["POST"])
    def change_role(self):
        form = ChangeRoleForm()
        membership = self.membership_from(form)
        try:
            team.change_role(current_user, membership, form.role.data)
        except team.TeamError as error:
            return self.page(row_errors={membership.id: error.message})
        role = ROLE_LABELS[form.role.data]
        flash(_("%(name)s is now %(role)s.", name=membership.user.name, role=role), "success")
        return redirect(url_for(".index"))

    @expose("/remove", methods=["POST"])
    def remove(self):
        form = RemoveMemberForm()
        membership = self.membership_from(form)
        name, shop = membership.user.name, membership.shop.name
        try:
            team.remove(current_user, membership)
        except team.TeamError as error:
            return self.page(row_errors={membership.id: error.message})
        flash(_("%(name)s no longer has access to %(shop)s.", name=name, shop=shop), "success")
        return redirect(url_for(".index"))

    def membership_from(self, form):
        """The membership a row form names, if the user administers its shop; else 404."""
        if not form.validate():
            abort(400)
        membership = team.membership_in_scope(current_user, form.membership_id.data)
        if membership is None:
            abort(404)
        return membership
