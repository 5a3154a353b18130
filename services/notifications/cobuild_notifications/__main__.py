"""`python -m cobuild_notifications`: serve the notifications service."""

from cobuild_kit.service import serve

from cobuild_notifications.app import definition

if __name__ == "__main__":
    serve(definition())
