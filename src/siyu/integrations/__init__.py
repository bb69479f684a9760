"""The edge of the connectors: an operator managing connector instances (CLI, REST, console commands) and platforms
calling their callback URLs (the webhook bridge). They sit here, above the engine, so that `siyu.connectors` itself
imports only `kit`, `models` and its own package: the engine calls connectors, never the other way."""
