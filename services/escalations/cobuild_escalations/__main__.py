"""`python -m cobuild_escalations`: serve the escalations service."""

from cobuild_kit.service import serve

from cobuild_escalations.app import definition

if __name__ == "__main__":
    serve(definition())
