"""What answers HTTP: the staff's Flask-Admin views (``web.admin``), the customer portal
(``web.portal``), the REST API (``web.api``) and the login pages."""
