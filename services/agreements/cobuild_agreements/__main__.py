"""`python -m cobuild_agreements`: serve the agreements service."""

from cobuild_kit.service import serve

from cobuild_agreements.app import definition

if __name__ == "__main__":
    serve(definition())
