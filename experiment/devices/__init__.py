"""Response devices behind one narrow protocol (:mod:`experiment.devices.protocol`): the keyboard
and handheld buttons. Devices see only the :class:`~experiment.devices.protocol.DeviceHost` a
session hands them, never the session."""
