"""Everything that stands in for a participant or for hardware that cannot exist here: the
simulated participant and its timer, the mock gamepad, the virtual microphone, speech
synthesis, walking noise and the example data."""
