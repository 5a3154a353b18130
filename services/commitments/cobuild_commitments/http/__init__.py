"""HTTP adapters of the commitments service."""

from cobuild_commitments.http import commands, evidence, public, queries

routers = [commands.router, evidence.router, queries.router, public.router]
