"""Helpers that start and reach the REAL services the tests run against.

- :mod:`tests.support.net`: free ports and waiting for a port to accept connections.
- :mod:`tests.support.broker`: a private MQTT broker process (Mosquitto, else amqtt).
- :mod:`tests.support.postgres`: throwaway PostgreSQL databases.
- :mod:`tests.support.pki`: a private CA issuing the broker's and the nodes' TLS certificates.
- :mod:`tests.support.waiting`: polling for asynchronous state with a deadline and a
  failure message that shows what was expected and what was seen.

The broker runner and port helpers live in shopfloor_cli (the demo uses them too)
and are re-exported here.
"""
