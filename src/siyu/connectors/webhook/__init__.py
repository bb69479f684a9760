"""The signed webhook bridge: any platform (a Telegram, Feishu or DingTalk bot, a shop) posts events to
`/callbacks/webhook/NAME` signed with HMAC-SHA256, and siyu posts its actions, signed the same way, to the
instance's outbound URL. docs/connectors/webhook.md has the wire format, a curl example and a Python sender."""
