"""Synchronisation with other recordings: Lab Streaming Layer (LSL) markers."""
