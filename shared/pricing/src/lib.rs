//! Pure instrument maths for the hedging workflow (and any other that needs it): no I/O,
//! no serde in the pricing paths, every pricer checked against a published value.
