"""A faithful fake of WeCom's customer-contact API (`siyu wecom-fake`), for development and tests without a corp.

Its own package and process: it imports nothing else of siyu. See docs/connectors/wecom.md.
"""
