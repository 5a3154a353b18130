"""`python -m cobuild_access`: serve the access service."""

from cobuild_kit.service import serve

from cobuild_access.app import definition

if __name__ == "__main__":
    serve(definition())
