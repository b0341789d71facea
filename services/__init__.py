"""What talks to the outside or to storage: the outbox and its delivery (Flask-Mail, webhooks),
file storage, carriers and labels, order import, exports and the dashboard's figures.

Services use the domain's rules; they never import a screen.
"""
