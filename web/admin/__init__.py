"""The staff's Flask-Admin views. ``admin_views.py`` (top level) builds the Admin from them."""
