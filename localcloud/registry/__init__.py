"""The real registry under localcloud's ACR: a distribution (``docker-registry``) process with htpasswd logins,
its HTTP API, and a tiny seed image that needs neither network nor Docker to build."""
