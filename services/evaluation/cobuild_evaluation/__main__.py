"""`python -m cobuild_evaluation`: serve the evaluation service."""

from cobuild_kit.service import serve

from cobuild_evaluation.app import definition

if __name__ == "__main__":
    serve(definition())
