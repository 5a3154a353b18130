"""`python -m cobuild_commitments`: serve the commitments service."""

from cobuild_kit.service import serve

from cobuild_commitments.app import definition

if __name__ == "__main__":
    serve(definition())
