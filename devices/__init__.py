"""Device drivers, the device agent, event schemas and simulators; imports nothing of ours."""
