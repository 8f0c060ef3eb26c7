//! Calibration of the market models from the real history in `events/inputs/`.
