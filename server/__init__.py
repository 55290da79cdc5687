"""The small asyncio actor server that mcops notebooks investigate.

It stands in for the two services of the runbooks: a chat server with one actor per
conversation (runbook 000) and a meeting controller (runbook 004).
"""
