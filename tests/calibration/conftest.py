"""The calibration tier: the simulated engine compared with fixtures recorded on the real engine."""
