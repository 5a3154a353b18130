"""HTTP adapters of the commitments service."""

from cobuild_commitments.http import commands, evidence, queries

routers = [commands.router, evidence.router, queries.router]
