"""Cobuild's workbench (工作台): a backend-for-frontend that signs people in at the OIDC
provider, exchanges for Cobuild tokens at the access service and calls the four services'
APIs with them. It holds no business data (ARCHITECTURE.md, "The console")."""
