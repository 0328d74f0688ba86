"""The HTTP face of localcloud: wire parsing, signature checks, dispatch to the products."""
