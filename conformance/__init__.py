"""Black-box SCIM 2.0 conformance suite. Run ``python -m conformance --help``.

Written from RFC 7643/7644 and the IdP dialect notes (docs/idp-dialects.md), against
any SCIM server over HTTP. It imports nothing from the server under test.
"""
