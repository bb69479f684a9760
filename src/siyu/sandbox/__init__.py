"""The sandbox platform's people: members who scan codes, join, post and leave, as a phone would on a real
platform. What they do reaches the engine as platform facts (events), exactly like a connector's callbacks; the
platform side siyu talks to is the connector in `siyu.connectors.sandbox`."""
