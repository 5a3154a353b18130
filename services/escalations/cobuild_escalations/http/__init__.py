"""HTTP adapters of the escalations service."""

from cobuild_escalations.http import calendar, evidence, ratings, routing, whistles

routers = [whistles.router, evidence.router, ratings.router, routing.router, calendar.router]
public_routers = [ratings.public]
