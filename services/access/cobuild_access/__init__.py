"""The access service: grants (subject, role, party) delegated down the hierarchy,
invitations, the token exchange, the signing keys' JWKS and the audit (ARCHITECTURE.md,
"Access")."""
