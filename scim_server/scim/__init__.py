"""The SCIM protocol core: pure functions over dicts (RFC 7643/7644). No Flask, no session."""
