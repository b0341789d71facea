"""The rules of ReturnDesk: statuses and their words, tenancy, the workflow (the only place a
status changes), submission, notices, refunds and what each email says.

Domain modules import only each other, ``models`` and ``extensions``; never a service or a
screen (import-linter holds this in ``make test``).
"""
