"""HTTP adapters of the notifications service."""

from cobuild_notifications.http import follows, inbox, preferences

routers = [inbox.router, follows.router, preferences.router]
public_routers = [preferences.public]
