"""Container Registry Enterprise Edition (cr 2018-12-01): instances, namespaces, repositories, tags and
temporary logins, backed by localcloud's real registry."""
