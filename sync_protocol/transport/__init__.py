"""Pumps that carry sync sessions' messages: MQTT in the field, an in-memory
network with faults for deterministic simulation tests. Both move bytes produced by
`sync_protocol.messages.encode`; neither knows what the bytes mean."""
