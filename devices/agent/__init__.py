"""The device agent: puts the machine's scanners, scales and printers on the local MQTT bus.

- ``config``    devices.toml → AgentConfig (validated, with clear errors)
- ``adapters``  one interface over each driver (scanner, scale; ``printer`` for printers)
- ``runner``    one owner thread per device: open, poll, publish, commands, reopen
- ``link``      one paho connection per device, so each has its own Last Will
- ``agent``     all runners together; what ``shopfloor devices run`` starts
- ``commands``, ``documents``  the JSON commands and print documents on ``…/cmd``
- ``replay``    the ``replay`` scanner driver (recorded evdev events, for the demo)
- ``watch``     a bus watcher/sender for technicians and tests
- ``discovery`` what ``shopfloor devices list`` shows

Topics and semantics: docs/devices.md. Import from the submodules (``devices.agent.agent``,
``devices.agent.watch``…): this package module stays empty so that a reader of the bus
(the edge, importing ``devices.agent.topics``) does not load drivers it does not need.
"""
